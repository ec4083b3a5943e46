"""The fallbacks the owner's conversations (registration, assessment) share: leave to the menu,
ask the current step again, and switch the language without leaving."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import KhoosheContext
from bot.domain import callbacks as cb

S = TypeVar("S")
Step = Callable[[Update, KhoosheContext], Coroutine[Any, Any, S]]


def language_switch(resume: Step[S]) -> Step[S]:
    """The language buttons inside a conversation: stores the language, then ``resume`` asks
    the current step again in it."""

    async def switch_language(update: Update, context: KhoosheContext) -> S:
        """Changes the language without leaving the conversation, and asks the step in it."""
        from handlers.common.menu import store_language

        await store_language(update, context)
        return await resume(update, context)

    return switch_language


def fallbacks(
    *, command: str, resume_pattern: str, resume: Step[Any], leave: Step[int], media: Step[Any],
) -> list[BaseHandler[Update, KhoosheContext, object]]:
    """/cancel, /start and /menu (and the menu's buttons) ``leave``; the conversation's own
    ``command`` and its buttons matching ``resume_pattern`` ``resume``; the language buttons
    switch and resume; a sticker, voice, photo, video, file, location or contact where text or
    a button was expected goes to ``media``, which says in one short line what the step needs
    and keeps the conversation where it is."""
    return [
        CommandHandler(["cancel", "start", "menu"], leave),
        CommandHandler(command, resume),
        CallbackQueryHandler(resume, pattern=resume_pattern),
        CallbackQueryHandler(language_switch(resume), pattern=cb.LANGUAGE.pattern),
        CallbackQueryHandler(leave, pattern=cb.starts_with(cb.MENU_PREFIX)),
        MessageHandler(~filters.COMMAND & ~filters.TEXT, media),
    ]
