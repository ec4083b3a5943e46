"""The role guard and the one refusal path every privileged command and button goes through."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, TypeAlias, TypeVar

from telegram import Update

from bot.context import KhoosheContext
from bot.services.access import Role, access_of, audit
from handlers.common.privileged import user_id_of
from handlers.common.ui import say, settle_query

log = logging.getLogger(__name__)

R = TypeVar("R")
#: A handler callback as python-telegram-bot calls it.
Callback: TypeAlias = Callable[[Update, KhoosheContext], Coroutine[Any, Any, R]]


def requires(role: Role) -> Callable[[Callback[R]], Callback[R | None]]:
    """Guards a handler: the role is read fresh from the database when the handler runs (admins
    hold every role). A refused user gets the one refusal (``refuse``), which is audited; the
    handler then returns None."""

    def wrap(handler: Callback[R]) -> Callback[R | None]:
        @wraps(handler)
        async def guarded(update: Update, context: KhoosheContext) -> R | None:
            user = update.effective_user
            if user is None:
                return None
            async with context.db.read() as repo:
                access = await access_of(repo, context.settings.admins, user.id)
            if not access.has(role):
                await refuse(context, update, handler.__name__, target=attempted(update), detail=f"requires {role}",
                             message=context.t("This is for admins only.") if role is Role.ADMIN else None)
                return None
            context.access = access
            return await handler(update, context)

        return guarded

    return wrap



def attempted(update: Update) -> str:
    """What the user tried: the button's data or the command word."""
    if update.callback_query is not None and update.callback_query.data:
        return update.callback_query.data
    if update.message is not None and update.message.text:
        return update.message.text.split()[0]
    return "?"


async def refuse(context: KhoosheContext, update: Update, action: str, target: object = None,
                 detail: str | None = None, message: str | None = None) -> None:
    """Refuses an action the user's role or scope does not allow: audited, then a polite answer."""
    async with context.db.transaction() as repo:
        await audit(repo, user_id=user_id_of(update), action=action, target=target, ok=False, detail=detail)
    log.warning("refused %s on %s to user %s (%s)", action, target, user_id_of(update), detail)
    text = message or context.t("You are not allowed to do this.")
    if update.callback_query is not None:
        await settle_query(update, text=text, alert=True)
    else:
        await say(update, context, text)
