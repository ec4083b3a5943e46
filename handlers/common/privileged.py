"""What the admin and manager handlers share: reading ids from arguments, refusing and auditing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, Literal, TypeAlias, TypeVar

from telegram import Update

from bot.context import KhoosheContext
from bot.domain.text import normalize
from bot.services.access import access_of, audit
from handlers.common.ui import say, settle_query

log = logging.getLogger(__name__)

R = TypeVar("R")
#: A handler callback as python-telegram-bot calls it.
Callback: TypeAlias = Callable[[Update, KhoosheContext], Coroutine[Any, Any, R]]


def requires(role: Literal["admin", "manager"]) -> Callable[[Callback[R]], Callback[R | None]]:
    """Guards a handler: ``role`` is "admin" or "manager" (admins pass both). A refused user
    gets a polite "not allowed" and the attempt is audited; the handler then returns None."""

    def wrap(handler: Callback[R]) -> Callback[R | None]:
        @wraps(handler)
        async def guarded(update: Update, context: KhoosheContext) -> R | None:
            user = update.effective_user
            if user is None:
                return None
            async with context.db.transaction() as repo:
                access = await access_of(repo, context.settings.admins, user.id)
                allowed = access.is_admin or (role == "manager" and access.is_manager)
                if not allowed:
                    what = (update.callback_query.data if update.callback_query else None) or (
                        update.message.text.split()[0] if update.message and update.message.text else "?")
                    await audit(repo, user_id=user.id, action=handler.__name__, target=what, ok=False,
                                detail=f"requires {role}")
            if not allowed:
                log.warning("refused %s to user %s", handler.__name__, user.id)
                refusal = context.t("This is for admins only.") if role == "admin" else context.t("You are not allowed to do this.")
                await settle_query(update, text=refusal)
                if update.message is not None:
                    await say(update, context, refusal)
                return None
            context.access = access
            return await handler(update, context)

        return guarded

    return wrap


def int_arg(context: KhoosheContext, index: int = 0) -> int | None:
    """The ``index``-th command argument as a whole number (Persian or Latin digits, "#" allowed)."""
    args = context.args or []
    try:
        return int(normalize(args[index]).lstrip("#"))
    except (IndexError, ValueError):
        return None


def body_of(update: Update) -> str:
    """The text after the command word."""
    text = update.message.text if update.message and update.message.text else ""
    return text.partition(" ")[2].strip()


def user_id_of(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


async def record(context: KhoosheContext, update: Update, action: str, target: object = None,
                 detail: str | None = None) -> None:
    """Writes an allowed admin or manager action to the audit log."""
    async with context.db.transaction() as repo:
        await audit(repo, user_id=user_id_of(update), action=action, target=target, detail=detail)


async def refuse(context: KhoosheContext, update: Update, action: str, target: object = None,
                 detail: str | None = None, message: str | None = None) -> None:
    """Refuses an action the user's role or scope does not allow: audited, then a polite answer."""
    async with context.db.transaction() as repo:
        await audit(repo, user_id=user_id_of(update), action=action, target=target, ok=False, detail=detail)
    log.warning("refused %s on %s to user %s (%s)", action, target, user_id_of(update), detail)
    text = message or context.t("You are not allowed to do this.")
    if update.callback_query is not None:
        await settle_query(update, text=text)
    else:
        await say(update, context, text)
