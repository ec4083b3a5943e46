"""Who may do what, changed by an admin: blocking and unblocking users, promoting and demoting
admins, removing estate managers, and reading the audit log.  Each change writes one audit row.

The blocked users are also held in memory (loaded at start-up), because the guard that stops
them runs before every other handler; the service keeps that set and the database together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.domain.audit_log import VIEWS, AuditFilter
from bot.domain.calendar import start_of_day
from bot.domain.text import key_matches, only_digits, parse_id, search_key
from bot.services.access import Access, access_of, audit
from storage.database import Database
from storage.models import Estate, Firm, User
from storage.repositories import Repositories
from storage.repositories.access import AuditEntry

#: Entries on one page of /audit.
AUDIT_PAGE = 15


def describe(filt: AuditFilter, page: int) -> str | None:
    """The filter and page of an /audit view, for its own audit row."""
    parts = [f"action {filt.action}" if filt.action else "",
             f"from {filt.since.isoformat()}" if filt.since else "",
             f"to {filt.until.isoformat()}" if filt.until else "",
             "with views" if filt.include_views else "", f"page {page + 1}" if page else ""]
    return ", ".join(p for p in parts if p) or None


#: Firms listed by one /find.
FIND_LIMIT = 10


@dataclass(frozen=True)
class Found:
    """A firm an admin looked for, with its estate and its owner."""

    firm: Firm
    estate: Estate | None
    owner: Person


@dataclass(frozen=True)
class ManagerLine:
    user_id: int
    user: User | None
    estate_id: int
    estate: Estate | None


@dataclass(frozen=True)
class Person:
    """Who a role change is about, as the admin confirming it needs to see them."""

    user_id: int
    #: None when the user never wrote to the bot.
    first_name: str | None
    known: bool
    firm_name: str | None
    is_admin: bool
    #: configured in KHOOSHE_ADMINS (cannot be demoted in the bot).
    configured_admin: bool
    estates: list[Estate]
    blocked: bool
    language: str


class RolesService:
    def __init__(self, db: Database, admins: frozenset[int], blocked: set[int], blocked_noticed: set[int]) -> None:
        self.db, self.admins = db, admins
        self.blocked, self.blocked_noticed = blocked, blocked_noticed

    async def block(self, actor: int, target: int) -> Literal["blocked", "admin"]:
        """Blocks a user (``admin``, and nothing done, when the target is an admin)."""
        async with self.db.transaction() as repo:
            if (await access_of(repo, self.admins, target)).is_admin:
                return "admin"
            await repo.access.block(user_id=target, by=actor)
            await audit(repo, user_id=actor, action="block", target=f"user {target}")
        self.blocked.add(target)
        self.blocked_noticed.discard(target)
        return "blocked"

    async def unblock(self, actor: int, target: int) -> bool:
        """False when the user was not blocked."""
        if target not in self.blocked:
            return False
        async with self.db.transaction() as repo:
            await repo.access.unblock(target)
            await audit(repo, user_id=actor, action="unblock", target=f"user {target}")
        self.blocked.discard(target)
        self.blocked_noticed.discard(target)
        return True

    async def promote(self, actor: int, target: int) -> Literal["promoted", "blocked", "already"]:
        if target in self.blocked:
            return "blocked"
        if target in self.admins:
            return "already"
        async with self.db.transaction() as repo:
            if not await repo.access.promote(user_id=target, by=actor):
                return "already"
            await audit(repo, user_id=actor, action="promote", target=f"user {target}")
        return "promoted"

    async def demote(self, actor: int, target: int) -> Literal["demoted", "configured", "not_admin"]:
        """Takes away admin rights given in the bot; the configured admins' stay (``configured``)."""
        if target in self.admins:
            return "configured"
        async with self.db.transaction() as repo:
            if not await repo.access.demote(target):
                return "not_admin"
            await audit(repo, user_id=actor, action="demote", target=f"user {target}")
        return "demoted"

    async def remove_manager(self, actor: int, target: int, estate_id: int | None) -> int:
        """From one estate, or all (``None``); returns how many estates they no longer manage."""
        async with self.db.transaction() as repo:
            removed = await repo.access.remove_manager(user_id=target, estate_id=estate_id)
            if removed:
                await audit(repo, user_id=actor, action="remove_manager", target=f"user {target}",
                            detail=f"estate {estate_id}" if estate_id else "all estates")
        return removed

    async def person(self, user_id: int) -> Person:
        """The user, their firm and their roles."""
        async with self.db.read() as repo:
            return await self._person(repo, user_id)

    async def _person(self, repo: Repositories, user_id: int) -> Person:
        user = await repo.users.get(user_id)
        firm = await repo.firms.by_owner(user_id)
        access = await access_of(repo, self.admins, user_id)
        estates = [e for e in [await repo.estates.get(i) for i in access.estates] if e is not None]
        return Person(
            user_id=user_id, first_name=user.first_name if user else None, known=user is not None,
            firm_name=firm.name if firm is not None else None,
            is_admin=access.is_admin, configured_admin=user_id in self.admins, estates=estates,
            blocked=user_id in self.blocked, language=user.language if user else "fa",
        )

    async def find(self, actor: int, text: str) -> tuple[list[Found], int]:
        """Firms matching what an admin typed: a national ID, a phone number (any way it is
        written) or an owner's user id when it is a number, else words of the firm's name (as
        the estate search folds them); the first FIND_LIMIT and how many matched. Audited
        without the query, which may be a phone number."""
        digits = only_digits(text, ignore=" -_/.()+")
        if digits is None and (typed_id := parse_id(text)) is not None:  # «#۱۰۲۳», «1,023»: a user id
            digits = str(typed_id)
        async with self.db.transaction() as repo:
            if digits:
                firms = await repo.firms.by_number(digits)
                total = len(firms)
            else:
                query = search_key(text)
                ids = [i for i, name in await repo.firms.names() if query and key_matches(query, search_key(name))]
                firms = [f for f in [await repo.firms.by_id(i) for i in ids[:FIND_LIMIT]] if f is not None]
                total = len(ids)
            found = [Found(firm=f, estate=await repo.estates.get(f.estate_id), owner=await self._person(repo, f.owner_id))
                     for f in firms[:FIND_LIMIT]]
            await audit(repo, user_id=actor, action="find_user", detail=f"{total} found")
        return found, total

    async def admins_and_blocked(self, actor: int) -> tuple[list[Person], list[Person]]:
        """Every admin (configured and promoted) and every blocked user; audited."""
        async with self.db.transaction() as repo:
            admin_ids = set(self.admins) | await repo.access.promoted_admins()
            blocked_ids = await repo.access.blocked_users()
            admins = [await self._person(repo, u) for u in sorted(admin_ids)]
            blocked = [await self._person(repo, u) for u in sorted(blocked_ids)]
            await audit(repo, user_id=actor, action="list_admins")
        return admins, blocked

    async def managers(self, access: Access, estate_id: int | None) -> list[ManagerLine]:
        """The managers of one estate, or of every estate the reader may see (all for admins).
        Audited; the caller checked that the reader may manage ``estate_id``."""
        async with self.db.transaction() as repo:
            if estate_id is not None:
                pairs = await repo.access.managers(estate_id)
            elif access.is_admin:
                pairs = await repo.access.managers()
            else:
                pairs = [p for e in access.estates for p in await repo.access.managers(e)]
            estates = {e: await repo.estates.get(e) for e in {p[1] for p in pairs}}
            users = {u: await repo.users.get(u) for u in {p[0] for p in pairs}}
            await audit(repo, user_id=access.user_id, action="list_managers",
                        target=f"estate {estate_id}" if estate_id else None)
        return [ManagerLine(u, users.get(u), e, estates.get(e)) for u, e in pairs]

    async def my_estates(self, access: Access) -> list[Estate]:
        async with self.db.transaction() as repo:
            estates = [e for e in [await repo.estates.get(i) for i in access.estates] if e is not None]
            await audit(repo, user_id=access.user_id, action="my_estates")
        return estates

    async def audit_log(
        self, actor: int, filt: AuditFilter, zone: ZoneInfo, *, page: int = 0, per_page: int = AUDIT_PAGE,
    ) -> tuple[list[AuditEntry], bool]:
        """One page of entries (newest first) matching the filter, and whether an older page
        follows; successful views are left out unless the filter includes them. Audited."""
        async with self.db.transaction() as repo:
            entries = await repo.access.audit_page(
                user_id=filt.user_id, action=filt.action,
                since=start_of_day(filt.since, zone) if filt.since else None,
                until=start_of_day(filt.until + timedelta(days=1), zone) if filt.until else None,
                hidden=() if filt.include_views else sorted(VIEWS),
                offset=page * per_page, limit=per_page + 1,
            )
            await audit(repo, user_id=actor, action="audit", target=f"user {filt.user_id}" if filt.user_id else None,
                        detail=describe(filt, page))
        return entries[:per_page], len(entries) > per_page

    async def audit_export(self, actor: int) -> list[AuditEntry]:
        async with self.db.transaction() as repo:
            await audit(repo, user_id=actor, action="audit_export")
            return await repo.access.all_audit_entries()
