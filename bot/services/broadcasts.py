"""Composing a broadcast (``BroadcastService``): who may receive it, the filters and the count,
the notice's limits, sending now or at a chosen moment, the sender's list and cancelling.

The composition is an audience (filters, stored as JSON with the broadcast) and a content; every
step checks the audience against the sender's scope again, so a manager can never reach another
estate, even by forging button data.  Starting a broadcast on time, its progress and its report
are the delivery's (``bot.delivery.broadcasts.BroadcastKeeper``, the ``runner`` here).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.delivery.keys import broadcast_prefix
from bot.domain.calendar import BadDate, parse_jalali_datetime
from bot.domain.quiet_hours import QuietHours
from bot.domain.sectors import SECTORS
from bot.domain.text import number
from bot.i18n import join_words
from bot.services.access import Access, audit
from storage.database import Database
from storage.models import Cluster, Estate, Province
from storage.repositories import Repositories
from storage.repositories.broadcasts import SIZE_BANDS, Broadcast

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
#: Estates named in a manager's sender line; more are counted ("… and 3 more estates").
SENDER_ESTATES = 3

Translate = Callable[..., str]


@dataclass(frozen=True)
class Sender:
    """The sender line of a broadcast, as plain text (for the length limit) and as HTML."""

    plain: str
    html: str

Audience = dict[str, Any]
Content = dict[str, Any]


@dataclass
class Tally:
    """A broadcast's outbox rows by what became of them."""

    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0
    remaining: int = 0
    # The send failed after the request went out: perhaps delivered, never sent again.
    uncertain: int = 0

    @classmethod
    def of(cls, counts: dict[str, int]) -> Tally:
        return cls(
            delivered=counts.get("sent", 0), blocked=counts.get("unreachable", 0),
            failed=counts.get("failed", 0), cancelled=counts.get("cancelled", 0),
            remaining=counts.get("pending", 0) + counts.get("sending", 0),
            uncertain=counts.get("uncertain", 0),
        )

    @property
    def total(self) -> int:
        return self.delivered + self.blocked + self.failed + self.cancelled + self.remaining + self.uncertain


class BroadcastRunner(Protocol):
    """What sends broadcasts (the delivery's keeper): starts the due ones, cancels one."""

    async def tick(self, now: datetime) -> int: ...

    async def cancel(self, broadcast_id: int, now: datetime) -> Tally | None: ...


class OutOfScope(Exception):
    """The sender's role or estates do not reach this audience (a forged or stale button)."""


@dataclass(frozen=True)
class Begun:
    """/broadcast: the new audience, and what to choose from: an admin the provinces, a manager
    of several estates those estates; ``ready`` when a manager's one estate is chosen already."""

    audience: Audience
    provinces: list[Province]
    estates: list[Estate]
    ready: bool


@dataclass(frozen=True)
class Recipients:
    """An audience as the sender reads it, with its count."""

    estates: list[Estate]
    province: Province | None
    cluster: Cluster | None
    count: int


@dataclass(frozen=True)
class TooLong:
    limit: int


@dataclass(frozen=True)
class Created:
    broadcast_id: int
    count: int
    send_at: datetime
    #: When a moment in quiet hours was chosen: when the sending will actually begin.
    quiet_until: datetime | None = None


@dataclass(frozen=True)
class BadMoment:
    """A schedule refused: not a Solar Hijri date (``bad_date``) or already past (``past``)."""

    reason: Literal["bad_date", "past"]


@dataclass(frozen=True)
class NoRecipients:
    """A broadcast refused because no firm matches its audience (now): nothing would be sent,
    and its report would say "0 of 0" to a sender who thinks it went out."""


def in_scope(access: Access, audience: Audience) -> bool:
    """Admins reach anyone; a manager only firms of estates they manage."""
    if access.is_admin:
        return True
    estates = audience.get("estates")
    if estates is None or audience.get("province") is not None:
        return False
    return bool(estates) and all(access.may_manage(int(e)) for e in estates)


def checked(access: Access, audience: Audience) -> Audience:
    if not in_scope(access, audience):
        raise OutOfScope
    return audience


async def current_round_id(repo: Repositories) -> int | None:
    """The open round, else the latest one: what "submitted or not" refers to."""
    current = await repo.rounds.open_round()
    if current is not None:
        return current.id
    rounds = await repo.rounds.all()
    started = [r for r in rounds if r.state != "scheduled"]
    return max(started, key=lambda r: r.opens_at).id if started else None


class BroadcastService:
    def __init__(self, db: Database, clock: Clock, quiet: QuietHours, zone: ZoneInfo) -> None:
        self.db, self.clock, self.quiet, self.zone = db, clock, quiet, zone
        #: Set once the delivery's keeper exists (it needs the bot, built after the services).
        self.runner: BroadcastRunner | None = None

    # --- who ---------------------------------------------------------------------------------

    async def begin(self, access: Access) -> Begun:
        async with self.db.read() as repo:
            audience: Audience = {"round_id": await current_round_id(repo)}
            if access.is_admin:
                return Begun(audience, await repo.provinces.all(), [], ready=False)
            estates = [e for e in [await repo.estates.get(i) for i in access.estates] if e is not None]
        if len(estates) == 1:
            audience["estates"] = [estates[0].id]
            return Begun(audience, [], estates, ready=True)
        return Begun(audience, [], estates, ready=False)

    def everyone(self, access: Access, audience: Audience) -> Audience:
        """Admins only: every firm."""
        if not access.is_admin:
            raise OutOfScope
        return {**audience, "estates": None, "province": None}

    async def province(self, access: Access, province_id: int) -> tuple[Province, list[Estate]] | None:
        """Admins only: a province and its estates to choose from; None for an unknown one."""
        if not access.is_admin:
            raise OutOfScope
        async with self.db.read() as repo:
            province = await repo.provinces.get(province_id)
            estates = await repo.estates.in_province(province_id)
        return (province, estates) if province is not None else None

    def whole_province(self, access: Access, audience: Audience, province_id: int) -> Audience:
        if not access.is_admin:
            raise OutOfScope
        return {**audience, "estates": None, "province": province_id}

    async def estates(self, access: Access, audience: Audience, value: str) -> Audience | None:
        """One estate (any for admins, their own for managers) or ``all`` of a manager's;
        None when an estate no longer exists."""
        try:
            estates = list(access.estates) if value == "all" else [int(value)]
        except ValueError:
            raise OutOfScope from None
        if not estates or not all(access.may_manage(e) for e in estates):
            raise OutOfScope
        async with self.db.read() as repo:
            for estate_id in estates:
                if await repo.estates.get(estate_id) is None:
                    return None
        return {**audience, "estates": estates, "province": None}

    # --- the filters -----------------------------------------------------------------------------

    async def recipients(self, access: Access, audience: Audience) -> Recipients:
        checked(access, audience)
        async with self.db.read() as repo:
            estates = [e for e in [await repo.estates.get(int(i)) for i in audience.get("estates") or []] if e]
            province = await repo.provinces.get(int(audience["province"])) if audience.get("province") is not None else None
            cluster = await repo.clusters.get(int(audience["cluster"])) if audience.get("cluster") is not None else None
            count = await repo.broadcasts.count_audience(audience)
        return Recipients(estates, province, cluster, count)

    def toggle_submitted(self, access: Access, audience: Audience) -> Audience:
        """Everyone → not submitted yet → submitted → everyone."""
        cycle = {None: False, False: True, True: None}
        return {**checked(access, audience), "submitted": cycle[audience.get("submitted")]}

    async def filter_values(self, access: Access, audience: Audience, which: str) -> list[Any]:
        """The values one filter offers, only those present among the recipients: clusters
        (``cl``), sector codes (``sec``) or, for admins, size bands (``size``)."""
        checked(access, audience)
        if which not in ("cl", "sec", "size") or (which == "size" and not access.is_admin):
            raise OutOfScope
        if which == "size":
            return list(SIZE_BANDS)
        async with self.db.read() as repo:
            if which == "cl":
                others = {k: v for k, v in audience.items() if k != "cluster"}
                found = [await repo.clusters.get(c) for c in await repo.broadcasts.distinct(others, "cluster_id")]
                return [c for c in found if c is not None]
            others = {k: v for k, v in audience.items() if k != "sector"}
            return list(await repo.broadcasts.distinct(others, "sector"))

    def set_filter(self, access: Access, audience: Audience, which: str, value: str) -> Audience:
        """Stores one filter's value (``any`` clears it)."""
        checked(access, audience)
        if which == "cl":
            return {**audience, "cluster": None if value == "any" else int(value)}
        if which == "sec":
            return {**audience, "sector": None if value == "any" or value not in SECTORS else value}
        if which == "size" and access.is_admin:
            return {**audience, "size": value if value in SIZE_BANDS else None}
        raise OutOfScope

    # --- the notice and sending it ------------------------------------------------------------------

    @staticmethod
    def notice(kind: Literal["text", "photo", "document"], typed: str, escaped: str,
               file_id: str | None = None, *, sender: Sender | None = None) -> Content | TooLong:
        """The notice to send: a text (at most TEXT_LIMIT characters) or a photo or document
        with a caption (at most CAPTION_LIMIT); ``escaped`` is ``typed`` made safe for HTML.
        ``sender``'s line heads it, so firms know who speaks to them; it counts in the limit."""
        limit = TEXT_LIMIT if kind == "text" else CAPTION_LIMIT
        head = len(sender.plain) + 2 if sender is not None else 0
        if len(typed) + head > limit:
            return TooLong(limit - head)
        text = f"{sender.html}\n\n{escaped}" if sender is not None else escaped
        if kind == "text":
            return {"kind": "text", "text": text}
        return {"kind": kind, "file_id": file_id, "text": text}

    async def sender(self, access: Access, audience: Audience, t: Translate, lang: str) -> Sender:
        """The line naming who a broadcast comes from: the estates' management for a manager
        (the estates it goes to), the programme for an admin."""
        if access.is_admin:
            plain = t("📢 From the Khooshe programme team")
        else:
            async with self.db.read() as repo:
                estates = [await repo.estates.get(int(e)) for e in audience.get("estates") or ()]
            names = [e.name for e in estates if e is not None]
            if len(names) > SENDER_ESTATES:
                shown = t("{estates} and {n} more estates", estates=t(", ").join(names[:SENDER_ESTATES]),
                          n=number(len(names) - SENDER_ESTATES, lang))
            else:
                shown = join_words(t, names)
            plain = t("📢 From the management of {estates}", estates=shown)
        return Sender(plain=plain, html=f"<b>{html.escape(plain, quote=False)}</b>")

    async def count(self, access: Access, audience: Audience) -> int:
        checked(access, audience)
        async with self.db.read() as repo:
            return await repo.broadcasts.count_audience(audience)

    async def send_now(self, access: Access, audience: Audience, content: Content, *,
                       chat_id: int) -> Created | NoRecipients:
        """Creates the broadcast due now; ``start_due`` starts it without waiting for the tick."""
        return await self._create(access, audience, content, send_at=self.clock.now(), chat_id=chat_id)

    async def start_due(self) -> None:
        """Has the runner start what is due now (after the sender was told it is on its way)."""
        if self.runner is not None:
            await self.runner.tick(self.clock.now())

    async def schedule(self, access: Access, audience: Audience, content: Content, typed: str, *,
                       chat_id: int) -> Created | BadMoment | NoRecipients:
        """Schedules it for a Solar Hijri date and Tehran time (09:00 without a time); quiet hours
        still apply when it is sent."""
        checked(access, audience)
        try:
            when = parse_jalali_datetime(typed, self.zone, default=time(9, 0))
        except BadDate:
            return BadMoment("bad_date")
        if when <= self.clock.now():
            return BadMoment("past")
        created = await self._create(access, audience, content, send_at=when, chat_id=chat_id)
        if isinstance(created, NoRecipients):
            return created
        if not self.quiet.allowed(when):
            return Created(created.broadcast_id, created.count, when, quiet_until=self.quiet.next_allowed(when))
        return created

    async def _create(self, access: Access, audience: Audience, content: Content, *, send_at: datetime,
                      chat_id: int) -> Created | NoRecipients:
        checked(access, audience)
        async with self.db.transaction() as repo:
            count = await repo.broadcasts.count_audience(audience)
            if count == 0:
                return NoRecipients()
            broadcast_id = await repo.broadcasts.create(
                created_by=access.user_id, audience=audience, content=content, send_at=send_at,
                progress_chat=chat_id,
            )
            await audit(repo, user_id=access.user_id, action="broadcast_create", target=f"broadcast {broadcast_id}",
                        detail=f"{count} recipients")
        return Created(broadcast_id, count, send_at)

    # --- the list and cancelling ------------------------------------------------------------------

    async def recent(self, access: Access) -> list[tuple[Broadcast, Tally]]:
        """The sender's recent broadcasts (an admin's list shows everyone's)."""
        async with self.db.read() as repo:
            found = await repo.broadcasts.recent(created_by=None if access.is_admin else access.user_id)
            return [(b, Tally.of(await repo.broadcasts.delivery_counts(broadcast_prefix(b.id)))) for b in found]

    async def cancel(self, access: Access, broadcast_id: int) -> Tally | None:
        """Cancels a scheduled or running broadcast: the sender's own, or any for an admin.
        None when it was neither scheduled nor running."""
        async with self.db.read() as repo:
            found = await repo.broadcasts.get(broadcast_id)
        if found is None or not (access.is_admin or found.created_by == access.user_id):
            raise OutOfScope
        if self.runner is None:
            raise RuntimeError("broadcasts are cancelled through the delivery's keeper, which is not set")
        tally = await self.runner.cancel(broadcast_id, self.clock.now())
        if tally is not None:
            async with self.db.transaction() as repo:
                await audit(repo, user_id=access.user_id, action="broadcast_cancel", target=f"broadcast {broadcast_id}",
                            detail=f"{tally.cancelled} not sent")
        return tally
