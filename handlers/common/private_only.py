"""Khooshe talks to a firm in a private chat only. In a group, /profile would show a national ID
and a phone to everyone, /invite a live token, /export a workbook; so in any chat that is not
private a command or a button press gets one short note pointing to the private chat, and no
handler ever runs there."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.context import KhoosheApp, KhoosheContext
from handlers.common.ui import settle_query

# A busy group is told once, not on every command; the memory is bounded.
_TOLD_MEMORY = 10_000


async def stop_outside_private_chats(update: Update, context: KhoosheContext) -> None:
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    link = f"{context.settings.messenger.deep_link_host}/{context.bot.username}"
    note = context.t("I work in a private chat only, so that your firm's details stay yours: open a chat with me at {link}",
                     link=link)
    if update.callback_query is not None:
        await settle_query(update, text=note, alert=True)
    elif update.message is not None and (update.message.text or "").startswith("/") \
            and chat.id not in (told := context.services.told_groups):
        if len(told) >= _TOLD_MEMORY:
            told.clear()
        told.add(chat.id)
        await context.bot.send_message(chat.id, note)
    raise ApplicationHandlerStop


def register(app: KhoosheApp) -> None:
    # Before everything, the user bookkeeping included: nothing runs for a group.
    app.add_handler(TypeHandler(Update, stop_outside_private_chats), group=-3)
