"""Roles, checked on the server when every privileged command or button runs.

Admins are the ids in KHOOSHE_ADMINS plus those promoted in the bot; estate managers manage one
or more estates; everyone else is a firm owner.  A refusal is written to the audit log.  The guard
that handlers wear, ``requires``, is in ``handlers.common.privileged``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.repositories import Repositories


class Role(StrEnum):
    """The privileged roles; everyone else is a firm owner."""

    ADMIN = "admin"
    MANAGER = "manager"


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

    def has(self, role: Role) -> bool:
        """Admins hold every role; a manager holds the manager's."""
        return self.is_admin or (role is Role.MANAGER and self.is_manager)

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
