"""Roles, checked on the server when every privileged command or button runs.

Admins are the ids in KHOOSHE_ADMINS plus those promoted in the bot; estate managers manage one
or more estates; everyone else is a firm owner.  A refusal is written to the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from telegram import Update

from storage.repositories import Repositories

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Access:
    """What one user may do, read fresh from the database for each privileged action."""

    user_id: int
    configured_admin: bool
    promoted_admin: bool
    estates: tuple[int, ...]

    @property
    def is_admin(self) -> bool:
        return self.configured_admin or self.promoted_admin

    @property
    def is_manager(self) -> bool:
        return bool(self.estates)

    def may_manage(self, estate_id: int) -> bool:
        """Admins manage every estate; a manager only their own."""
        return self.is_admin or estate_id in self.estates


async def access_of(repo: Repositories, admins: frozenset[int], user_id: int) -> Access:
    promoted = user_id in await repo.access.promoted_admins()
    return Access(
        user_id=user_id,
        configured_admin=user_id in admins,
        promoted_admin=promoted,
        estates=tuple(await repo.access.managed_estates(user_id)),
    )


async def audit(
    repo: Repositories, *, user_id: int, action: str, target: object = None, ok: bool = True,
    detail: str | None = None,
) -> None:
    """Records an admin or manager action (or a refused attempt) in the audit log."""
    await repo.access.audit(
        user_id=user_id, action=action, target=None if target is None else str(target),
        outcome="ok" if ok else "refused", detail=detail,
    )


Handler = Callable[[Update, Any], Awaitable[Any]]


def requires(role: str) -> Callable[[Handler], Handler]:
    """Guards a handler: ``role`` is "admin" or "manager" (admins pass both). A refused user
    gets a polite "not allowed" and the attempt is audited."""

    def wrap(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(update: Update, context: Any) -> Any:
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
                from handlers.common.ui import say, settle_query

                await settle_query(update, text=context.t("This is for admins only.") if role == "admin"
                                   else context.t("You are not allowed to do this."))
                if update.message is not None:
                    await say(update, context, context.t("This is for admins only.") if role == "admin"
                              else context.t("You are not allowed to do this."))
                return None
            context.access = access
            return await handler(update, context)

        return guarded

    return wrap
