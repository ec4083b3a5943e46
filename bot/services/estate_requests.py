"""Estates owners named because theirs was not listed: telling the admins, the admins' list
(/estaterequests), adding one to the list or merging it into a listed estate of its province,
and telling its firms' owners the outcome.  Every admin decision is audited."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal

from bot.clock import Clock
from bot.domain.text import persian_sort_key, search_key
from bot.i18n import translator
from bot.services.access import audit
from storage.database import Database
from storage.models import Estate, Province
from storage.repositories import Repositories
from storage.repositories.estate_requests import UnlistedEstate


def request_key(estate_id: int, admin_id: int) -> str:
    """The admins' notice of an estate named by an owner: once per estate and admin."""
    return f"estatereq:{estate_id}:admin:{admin_id}"


def outcome_key(estate_id: int, owner_id: int) -> str:
    """An owner told that the estate they named was added or merged: once per estate."""
    return f"estatedone:{estate_id}:user:{owner_id}"


async def tell_admins(repo: Repositories, clock: Clock, admins: frozenset[int], *, estate_id: int,
                      estate_name: str, province: Province | None, firm_name: str) -> None:
    """Queues, for every admin, a notice that an owner named an estate that is not listed."""
    for admin in sorted(set(admins) | await repo.access.promoted_admins()):
        user = await repo.users.get(admin)
        lang = user.language if user else "fa"
        t = translator(lang)
        text = t("🏷 A firm registered in an estate that is not listed: «{estate}» ({province}), firm «{firm}». "
                 "/estaterequests lists the estates awaiting you, to add them or merge them with a listed one.",
                 estate=html.escape(estate_name, quote=False),
                 province=html.escape(province.name(lang) if province else "?", quote=False),
                 firm=html.escape(firm_name, quote=False))
        await repo.outbox.add(kind="text", dedupe_key=request_key(estate_id, admin), chat_id=admin,
                              payload={"type": "text", "text": text}, not_before=clock.now())


@dataclass(frozen=True)
class Request:
    """One estate awaiting an admin, with its province."""

    estate: UnlistedEstate
    province: Province | None


@dataclass(frozen=True)
class Decided:
    """What an admin's decision did: the estate named, the listed one it went into (a merge),
    and how many firms it holds or moved."""

    name: str
    into: Estate | None
    firms: int


class EstateRequestService:
    """The admins' side of estates named by owners."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    async def pending(self) -> list[Request]:
        async with self.db.read() as repo:
            estates = await repo.estate_requests.pending()
            provinces = {p.id: p for p in await repo.provinces.all()}
        return [Request(e, provinces.get(e.province_id)) for e in estates]

    async def one(self, estate_id: int) -> Request | None:
        async with self.db.read() as repo:
            estate = await repo.estate_requests.pending_one(estate_id)
            province = await repo.provinces.get(estate.province_id) if estate else None
        return Request(estate, province) if estate else None

    async def merge_targets(self, estate_id: int) -> list[Estate]:
        """The listed estates of the request's province, those whose name shares most with the
        name typed first, then in Persian alphabetical order."""
        async with self.db.read() as repo:
            estate = await repo.estate_requests.pending_one(estate_id)
            if estate is None:
                return []
            listed = await repo.estate_requests.listed_in_province(estate.province_id)
        typed = set(search_key(estate.name).split())
        return sorted(listed, key=lambda e: (-len(typed & set(search_key(e.name).split())), persian_sort_key(e.name)))

    async def accept(self, admin_id: int, estate_id: int) -> Decided | Literal["gone"]:
        """Adds the estate to the list; its firms' owners are told."""
        async with self.db.transaction() as repo:
            estate = await repo.estate_requests.pending_one(estate_id)
            if estate is None or not await repo.estate_requests.verify(estate_id):
                return "gone"
            await self._tell_owners(repo, estate_id, estate.name, None)
            await audit(repo, user_id=admin_id, action="accept_estate", target=f"estate:{estate_id}")
        return Decided(estate.name, None, estate.firms)

    async def merge(self, admin_id: int, estate_id: int, into_id: int) -> Decided | Literal["gone", "no_target"]:
        """Moves the estate's firms into a listed estate of the same province and retires it;
        the owners are told where their firm now is."""
        async with self.db.transaction() as repo:
            estate = await repo.estate_requests.pending_one(estate_id)
            if estate is None:
                return "gone"
            target = await repo.estate_requests.named(into_id)
            if (target is None or not target.verified or not target.estate.active
                    or target.estate.province_id != estate.province_id):
                return "no_target"
            owners = await repo.estate_requests.owners_in(estate_id)
            moved = await repo.estate_requests.merge(estate_id, into_id)
            await self._tell_owners(repo, estate_id, estate.name, target.estate, owners=owners)
            await audit(repo, user_id=admin_id, action="merge_estate",
                        target=f"estate:{estate_id}", detail=f"into estate:{into_id}")
        return Decided(estate.name, target.estate, moved)

    async def _tell_owners(self, repo: Repositories, estate_id: int, name: str, into: Estate | None, *,
                           owners: list[int] | None = None) -> None:
        for owner in owners if owners is not None else await repo.estate_requests.owners_in(estate_id):
            user = await repo.users.get(owner)
            t = translator(user.language if user else "fa")
            if into is None:
                text = t("✅ The estate you named, «{name}», is now in Khooshe's list. Nothing else changes for your firm.",
                         name=html.escape(name, quote=False))
            else:
                text = t("✅ The estate you named, «{name}», is listed in Khooshe as «{listed}»; your firm's profile "
                         "now shows that name. See it with /profile.",
                         name=html.escape(name, quote=False), listed=html.escape(into.name, quote=False))
            await repo.outbox.add(kind="text", dedupe_key=outcome_key(estate_id, owner), chat_id=owner,
                                  payload={"type": "text", "text": text}, not_before=self.clock.now())
