"""Registering a firm, and editing its profile later (``RegistrationService``).

Each answer is committed together with the step asked next (the registration draft), so the
conversation resumes exactly where it was after a restart.  Every check of what the owner typed
or pressed is made here; the handler only says what the outcome means.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import IntEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.delivery.keys import claim_key
from bot.domain.calendar import solar_year
from bot.domain.national_id import (
    code_shape_problem,
    parse_licence,
    parse_national_code,
    parse_national_id,
    shape_problem,
)
from bot.domain.questionnaire.answers import single_number, two_digit_year
from bot.domain.sectors import SECTORS
from bot.domain.text import (
    fold_full_width_digits,
    key_matches,
    localize_digits,
    normalize,
    number,
    only_digits,
    persian_sort_key,
    search_key,
)
from bot.i18n import translator
from bot.services.access import audit
from bot.services.estate_requests import tell_admins
from storage.database import Database
from storage.models import Cluster, Estate, Firm, Province
from storage.repositories import Repositories
from storage.repositories.firms import FIRM_FIELDS


class Step(IntEnum):
    NAME = 1
    NATIONAL_ID = 2
    PROVINCE = 3
    ESTATE = 4
    CLUSTER = 5
    SECTOR = 6
    EMPLOYEES = 7
    FOUNDED = 8
    PHONE = 9
    CONSENT = 10
    REVIEW = 11
    #: A sole proprietorship (no legal-entity ID): the owner's national code, then the licence.
    NATIONAL_CODE = 12
    LICENCE = 13
    #: The owner's estate is not listed: its name, typed.
    ESTATE_NAME = 14


# The draft field each step fills, in the order they are asked.
FIELD_OF_STEP = {
    Step.NAME: "name",
    Step.NATIONAL_ID: "national_id",
    Step.PROVINCE: "province_id",
    Step.ESTATE: "estate_id",
    Step.CLUSTER: "cluster_id",
    Step.SECTOR: "sector",
    Step.EMPLOYEES: "employees",
    Step.FOUNDED: "founded_year",
    Step.PHONE: "phone",
    Step.CONSENT: "consent_public",
}
#: The draft fields of the other identity of a firm: ``sole`` (True for a sole proprietorship,
#: whose national_id is the owner's national code), its ``licence_no``; and ``estate_name``, an
#: estate the owner named because it is not listed (``estate_id`` is then None until the firm is
#: saved, when the unconfirmed estate is created).
ESTATE_NAME_LENGTH = (3, 100)
MAX_EMPLOYEES = 100_000
EARLIEST_FOUNDING_YEAR = 1250
NAME_LENGTH = (2, 100)
#: A second ✅ Confirm arriving this soon after the firm was saved is the twin of the tap that
#: saved it (a double tap, or two devices), and is answered the way that tap was.
TWIN_TAP = timedelta(minutes=2)


def next_step(data: dict[str, Any]) -> Step:
    """The first field still missing, or the review once all are filled.  The consent to be
    named is asked on the review itself, with the confirmation; a sole proprietorship gives
    the owner's national code and the licence number instead of the national ID."""
    for step, name in FIELD_OF_STEP.items():
        if step is Step.CONSENT:
            continue
        if step is Step.NATIONAL_ID and data.get("sole"):
            if "national_id" not in data:
                return Step.NATIONAL_CODE
            if not data.get("licence_no"):
                return Step.LICENCE
            continue
        if name not in data:
            return step
        if step is Step.ESTATE and data[name] is None and not data.get("estate_name"):
            return step  # neither a listed estate nor one named
    return Step.REVIEW


def draft_from_firm(firm: Firm) -> dict[str, Any]:
    data = {name: getattr(firm, name) for name in FIRM_FIELDS}
    if firm.licence_no is not None:
        data["sole"] = True
    else:
        data.pop("licence_no")
    return data


@dataclass(frozen=True)
class Position:
    """Where the registration stands: the step to ask and the fields given so far."""

    step: Step
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Begun(Position):
    """/register: a new registration, one resumed, or the profile editor of a registered firm."""

    outcome: Literal["new", "resume", "edit"] = "new"


#: Why an answer was not stored.  ``stale``: a button of another province, an inactive estate or
#: an unknown sector (the handler says "no longer active" and the step stays).
Reason = Literal[
    "name_length", "name_digits", "id_letters", "id_length", "id_is_code", "id_check", "id_taken",
    "code_letters", "code_length", "code_check", "code_taken", "licence_invalid", "licence_taken",
    "estate_name_length", "province_unclear", "stale", "employees", "founded", "founded_gregorian",
    "contact_other",
]


@dataclass(frozen=True)
class Refused:
    """An answer not stored: why, and the step to ask again (with the fields so far)."""

    reason: Reason
    position: Position
    #: For ``id_length``: how many digits were typed.  For ``founded``: the current year.
    count: int = 0


@dataclass(frozen=True)
class Stored(Position):
    """An answer committed together with the step asked next; ``label`` is what was chosen
    (a province, estate or cluster) for the handler to show."""

    label: Province | Estate | Cluster | None = None


@dataclass(frozen=True)
class Finished:
    """The firm was saved (``registered``) or its profile updated (``updated``);
    ``unlisted``: the name of the estate it is in when that awaits an admin's confirmation."""

    outcome: Literal["registered", "updated"]
    unlisted: str | None = None


@dataclass(frozen=True)
class Places:
    """The province, estate and cluster a draft names, for the review and the profile."""

    province: Province | None
    estate: Estate | None
    cluster: Cluster | None
    #: The estate's name when it awaits an admin's confirmation (one named by the owner).
    unlisted: str | None = None


@dataclass(frozen=True)
class EstateChoices:
    """What the estate question shows: the province, its active estates in Persian
    alphabetical order, and those a typed name finds (None when nothing was typed, or only the
    words every estate's name carries)."""

    province: Province | None
    estates: list[Estate]
    matches: list[Estate] | None = None
    query: str = ""


Answer = Stored | Refused


_NUMBERS = re.compile(r"\d+")


def _by_name(places: list[Estate]) -> list[Estate]:
    return sorted(places, key=lambda p: persian_sort_key(p.name))


def the_one(matches: list[Estate], query_key: str) -> Estate | None:
    """The estate a search names: its only match, or the only match named exactly that."""
    if len(matches) == 1:
        return matches[0]
    exact = [e for e in matches if search_key(e.name) == query_key]
    return exact[0] if len(exact) == 1 else None


class RegistrationService:
    """The steps of registering (and of editing the profile), their checks, and finishing."""

    def __init__(self, db: Database, clock: Clock, zone: ZoneInfo, *, admins: frozenset[int] = frozenset()) -> None:
        self.db, self.clock, self.zone, self.admins = db, clock, zone, admins

    # --- entry and exit -------------------------------------------------------------------

    async def begin(self, user_id: int) -> Begun:
        """Starts a registration, resumes one, or opens the profile editor for a registered firm."""
        async with self.db.transaction() as repo:
            firm = await repo.firms.by_owner(user_id)
            draft = await repo.drafts.get(user_id)
            if firm is not None and (draft is None or not draft.editing):
                data = draft_from_firm(firm)
                await repo.drafts.start(user_id=user_id, step=Step.REVIEW.name, data=data, editing=True)
                return Begun(Step.REVIEW, data, outcome="edit")
            if draft is not None:
                await repo.drafts.set_active(user_id=user_id, active=True)
                data = dict(draft.data)
                outcome: Literal["new", "resume", "edit"] = "edit" if firm is not None else "resume" if data else "new"
                return Begun(Step[draft.step], data, outcome=outcome)
            await repo.drafts.start(user_id=user_id, step=Step.NAME.name, data={}, editing=False)
        return Begun(Step.NAME, {}, outcome="new")

    async def leave(self, user_id: int) -> Literal["paused", "edit_dropped"]:
        """A new registration is kept for later (``paused``); a profile edit is dropped."""
        async with self.db.transaction() as repo:
            draft = await repo.drafts.get(user_id)
            if draft is not None and draft.editing:
                await repo.drafts.delete(user_id)
                return "edit_dropped"
            await repo.drafts.set_active(user_id=user_id, active=False)
        return "paused"

    async def current(self, user_id: int) -> Position:
        """The step on screen and the fields so far (the name question without a draft)."""
        async with self.db.read() as repo:
            draft = await repo.drafts.get(user_id)
        if draft is None:
            return Position(Step.NAME, {})
        return Position(Step[draft.step], dict(draft.data))

    async def edit(self, user_id: int, step_name: str) -> Position | None:
        """Goes back to the field chosen on the review; None for a name that is no field."""
        if step_name not in Step.__members__ or Step[step_name] is Step.REVIEW:
            return None
        step = Step[step_name]
        async with self.db.transaction() as repo:
            draft = await repo.drafts.get(user_id)
            data = dict(draft.data) if draft else {}
            await repo.drafts.update(user_id=user_id, step=step.name, data=data)
        return Position(step, data)

    async def finish(self, user_id: int, consent: bool | None = None) -> Finished | Refused | Position:
        """Saves the firm from a complete draft, with the consent to be named given on the
        confirm button (``None``: the one the draft holds).  A draft with a field missing goes
        back to it; a national ID (or national code, or licence number) taken meanwhile by
        another account goes back to it.  An estate the owner named is created unconfirmed and
        the admins are told.  When the draft is already gone because a twin tap just saved the
        firm, the answer is the twin's."""
        async with self.db.transaction() as repo:
            draft = await repo.drafts.get(user_id)
            if draft is None:
                twin = await self._twin(repo, user_id)
                if twin is not None:
                    return twin
            data = dict(draft.data) if draft else {}
            if consent is not None:
                data["consent_public"] = consent
            sole = bool(data.get("sole"))
            holder = await repo.firms.by_national_id(data.get("national_id", ""))
            if holder is not None and holder.owner_id != user_id:
                step = Step.NATIONAL_CODE if sole else Step.NATIONAL_ID
                return Refused("code_taken" if sole else "id_taken", Position(step, data))
            licence = data.get("licence_no") if sole else None
            holder = await repo.firms.by_licence(licence) if licence else None
            if holder is not None and holder.owner_id != user_id:
                return Refused("licence_taken", Position(Step.LICENCE, data))
            missing = next_step(data)
            if missing is not Step.REVIEW or "consent_public" not in data:
                return Position(missing, data)
            unlisted = None
            if data.get("estate_id") is None:
                estate_id, unlisted = await self._unlisted_estate(repo, user_id, data)
                data["estate_id"] = estate_id
            else:
                named = await repo.estate_requests.named(data["estate_id"])
                unlisted = named.estate.name if named is not None and not named.verified else None
            fields = {name: value for name, value in data.items() if name in FIRM_FIELDS}
            if not sole:
                fields["licence_no"] = None
            await repo.firms.save(owner_id=user_id, fields=fields)
            await repo.drafts.delete(user_id)
        return Finished("updated" if draft and draft.editing else "registered", unlisted=unlisted)

    async def _unlisted_estate(self, repo: Repositories, user_id: int, data: dict[str, Any]) -> tuple[int, str | None]:
        """The estate a draft names by its ``estate_name``: an unconfirmed one of the province by
        that name (named by another owner), the listed one it was merged into, or a new
        unconfirmed one, of which the admins are told.  Returns its id, and its name when it
        awaits confirmation."""
        name, province_id = data["estate_name"], data["province_id"]
        key = search_key(name)
        for known in await repo.estate_requests.unverified_in_province(province_id):
            if search_key(known.estate.name) == key:
                if known.merged_into is not None:
                    return known.merged_into, None
                return known.estate.id, known.estate.name
        estate_id = await repo.estate_requests.add_unverified(province_id=province_id, name=name, user_id=user_id)
        await tell_admins(repo, self.clock, self.admins, estate_id=estate_id, estate_name=name,
                          province=await repo.provinces.get(province_id), firm_name=data.get("name", ""))
        return estate_id, name

    async def finished_just_now(self, user_id: int) -> Finished | None:
        """A ✅ Confirm pressed after its registration ended: the result of the tap that ended
        it, when the firm was saved moments ago and nothing was started since; else None."""
        async with self.db.read() as repo:
            if await repo.drafts.get(user_id) is not None:
                return None
            return await self._twin(repo, user_id)

    async def _twin(self, repo: Repositories, user_id: int) -> Finished | None:
        firm = await repo.firms.by_owner(user_id)
        if firm is None or self.clock.now() - firm.updated_at > TWIN_TAP:
            return None
        return Finished("registered" if firm.created_at == firm.updated_at else "updated")

    # --- the answers ------------------------------------------------------------------------

    async def give_name(self, user_id: int, text: str) -> Answer:
        name = normalize(text)
        low, high = NAME_LENGTH
        if not low <= len(name) <= high:
            return await self._refuse(user_id, "name_length")
        if only_digits(name) is not None:
            return await self._refuse(user_id, "name_digits")
        return await self.store(user_id, name=name)

    async def give_national_id(self, user_id: int, text: str) -> Answer:
        """Checks the shape, the check digit and that no other account registered it."""
        national_id = parse_national_id(text)
        if national_id is None:
            problem = shape_problem(text)
            if problem == "letters":
                return await self._refuse(user_id, "id_letters")
            if problem == "length":
                if parse_national_code(text) is not None:
                    return await self._refuse(user_id, "id_is_code")
                typed = only_digits(fold_full_width_digits(text), ignore=" -_") or ""
                return await self._refuse(user_id, "id_length", count=len(typed))
            return await self._refuse(user_id, "id_check")
        async with self.db.read() as repo:
            holder = await repo.firms.by_national_id(national_id)
        if holder is not None and holder.owner_id != user_id:
            return await self._refuse(user_id, "id_taken")
        return await self.store(user_id, drop=("licence_no",), national_id=national_id, sole=False)

    async def declare_sole(self, user_id: int) -> Stored:
        """«I am a sole proprietor»: the national code and the licence number are asked instead."""
        return await self.store(user_id, drop=("national_id", "licence_no"), sole=True)

    async def declare_legal(self, user_id: int) -> Stored:
        """Back from the national code to the 11-digit national ID."""
        return await self.store(user_id, drop=("national_id", "licence_no"), sole=False)

    async def give_national_code(self, user_id: int, text: str) -> Answer:
        """The sole proprietor's national code: its shape, check digit and that no other
        account registered a firm with it."""
        code = parse_national_code(text)
        if code is None:
            problem = code_shape_problem(text)
            if problem == "letters":
                return await self._refuse(user_id, "code_letters")
            if problem == "length":
                typed = only_digits(fold_full_width_digits(text), ignore=" -_") or ""
                return await self._refuse(user_id, "code_length", count=len(typed))
            return await self._refuse(user_id, "code_check")
        async with self.db.read() as repo:
            holder = await repo.firms.by_national_id(code)
        if holder is not None and holder.owner_id != user_id:
            return await self._refuse(user_id, "code_taken")
        return await self.store(user_id, national_id=code, sole=True)

    async def give_licence(self, user_id: int, text: str) -> Answer:
        """The business licence number, unless another account registered a firm with it."""
        licence = parse_licence(text)
        if licence is None:
            return await self._refuse(user_id, "licence_invalid")
        async with self.db.read() as repo:
            holder = await repo.firms.by_licence(licence)
        if holder is not None and holder.owner_id != user_id:
            return await self._refuse(user_id, "licence_taken")
        return await self.store(user_id, licence_no=licence, sole=True)

    async def claim_national_id(self, user_id: int, national_id: str, *, first_name: str | None) -> bool:
        """Tells the admins that ``user_id`` says a national ID registered by another account is
        their firm's (with both accounts, so they can sort it out); False, and nothing sent, when
        the ID is not held by another account. Audited; asked again, nothing new is sent."""
        async with self.db.transaction() as repo:
            holder = await repo.firms.by_national_id(national_id)
            if holder is None or holder.owner_id == user_id:
                return False
            admins = set(self.admins) | await repo.access.promoted_admins()
            for admin in sorted(admins):
                user = await repo.users.get(admin)
                lang = user.language if user else "fa"
                t = translator(lang)

                def n(value: int, lang: str = lang) -> str:
                    return number(value, lang, grouping=False)

                text = t("📨 {name} (id {user}) says the firm with national ID {nid} is theirs, but it is registered "
                         "by another account: firm #{firm} «{firm_name}», owner id {owner}. /find {nid} shows both; "
                         "/block or /moveestate may help once you know who is right.",
                         name=html.escape(first_name or "?", quote=False), user=n(user_id),
                         nid=localize_digits(national_id, lang), firm=n(holder.id),
                         firm_name=html.escape(holder.name, quote=False), owner=n(holder.owner_id))
                await repo.outbox.add(kind="text", dedupe_key=claim_key(user_id, national_id, admin), chat_id=admin,
                                      payload={"type": "text", "text": text}, not_before=self.clock.now())
            await audit(repo, user_id=user_id, action="claim_national_id", target=f"firm {holder.id}")
        return True

    async def claim_licence(self, user_id: int, licence: str, *, first_name: str | None) -> bool:
        """``claim_national_id`` for a business licence number another account registered."""
        async with self.db.transaction() as repo:
            holder = await repo.firms.by_licence(licence)
            if holder is None or holder.owner_id == user_id:
                return False
            for admin in sorted(set(self.admins) | await repo.access.promoted_admins()):
                user = await repo.users.get(admin)
                lang = user.language if user else "fa"
                t = translator(lang)
                text = t("📨 {name} (id {user}) says the firm with business licence number {licence} is theirs, but it "
                         "is registered by another account: firm #{firm} «{firm_name}», owner id {owner}. /find {nid} "
                         "shows that firm; /block or /moveestate may help once you know who is right.",
                         name=html.escape(first_name or "?", quote=False), user=number(user_id, lang, grouping=False),
                         licence=localize_digits(licence, lang), firm=number(holder.id, lang, grouping=False),
                         firm_name=html.escape(holder.name, quote=False),
                         owner=number(holder.owner_id, lang, grouping=False), nid=localize_digits(holder.national_id, lang))
                await repo.outbox.add(kind="text", dedupe_key=claim_key(user_id, f"licence:{licence}", admin), chat_id=admin,
                                      payload={"type": "text", "text": text}, not_before=self.clock.now())
            await audit(repo, user_id=user_id, action="claim_national_id", target=f"firm {holder.id}")
        return True

    async def choose_province(self, user_id: int, province_id: int) -> Answer:
        async with self.db.read() as repo:
            province = await repo.provinces.get(province_id)
        if province is None:
            return await self._refuse(user_id, "stale")
        return await self.store(user_id, label=province, province_id=province_id)

    async def name_province(self, user_id: int, text: str) -> Answer:
        """A typed province name, accepted when it names exactly one province."""
        needle = normalize(text).casefold()
        async with self.db.read() as repo:
            provinces = await repo.provinces.all()
        matches = [p for p in provinces if needle and (needle == p.name_fa or needle == p.name_en.casefold())]
        if not matches and needle:
            matches = [p for p in provinces if needle in p.name_fa or needle in p.name_en.casefold()]
        if len(matches) == 1:
            return await self.store(user_id, province_id=matches[0].id)
        if not matches:
            # The estate's own name, which says the province too: «برازجان».
            key = search_key(needle)
            if key:
                async with self.db.read() as repo:
                    listed = await repo.estate_requests.listed()
                one = the_one([e for e in listed if key_matches(key, search_key(e.name))], key)
                if one is not None:
                    return await self.store(user_id, label=one, province_id=one.province_id, estate_id=one.id)
        return await self._refuse(user_id, "province_unclear")

    async def choose_estate(self, user_id: int, estate_id: int) -> Answer:
        """An estate pressed: it must be active and lie in the chosen province."""
        position = await self.current(user_id)
        async with self.db.read() as repo:
            named = await repo.estate_requests.named(estate_id)
        estate = named.estate if named is not None and named.verified else None
        if estate is None or not estate.active or estate.province_id != position.data.get("province_id"):
            return Refused("stale", position)
        return await self.store(user_id, label=estate, estate_id=estate_id)

    async def unlisted_estate(self, user_id: int) -> Position:
        """«My estate is not listed»: its name is asked next (the province must be chosen)."""
        async with self.db.transaction() as repo:
            draft = await repo.drafts.get(user_id)
            data = dict(draft.data) if draft else {}
            if "province_id" not in data:
                return Position(next_step(data), data)
            await repo.drafts.update(user_id=user_id, step=Step.ESTATE_NAME.name, data=data)
        return Position(Step.ESTATE_NAME, data)

    async def name_estate(self, user_id: int, text: str) -> Answer:
        """The name of an estate that is not listed.  A name that is a listed estate's (spelling
        aside) chooses it; otherwise the name is kept, and the estate is created unconfirmed when
        the firm is saved."""
        name = normalize(text)
        low, high = ESTATE_NAME_LENGTH
        position = await self.current(user_id)
        province_id = position.data.get("province_id")
        if province_id is None:
            return Refused("stale", position)
        if not low <= len(name) <= high or only_digits(name) is not None:
            return Refused("estate_name_length", position)
        key = search_key(name)
        async with self.db.read() as repo:
            listed = await repo.estate_requests.listed_in_province(province_id)
        same = [e for e in listed if search_key(e.name) == key] if key else []
        if len(same) == 1:
            return await self.store(user_id, label=same[0], estate_id=same[0].id)
        return await self.store(user_id, estate_id=None, estate_name=name)

    async def choose_cluster(self, user_id: int, cluster_id: int | None) -> Answer:
        """A cluster of the chosen province, or none (``None``)."""
        cluster = None
        if cluster_id is not None:
            position = await self.current(user_id)
            async with self.db.read() as repo:
                cluster = await repo.clusters.get(cluster_id)
            if cluster is None or cluster.province_id != position.data.get("province_id"):
                return Refused("stale", position)
        return await self.store(user_id, label=cluster, cluster_id=cluster_id)

    async def choose_sector(self, user_id: int, code: str) -> Answer:
        if code not in SECTORS:
            return Refused("stale", await self.current(user_id))
        return await self.store(user_id, sector=code)

    async def give_employees(self, user_id: int, text: str) -> Answer:
        # The number of employees and, after it, the year founded, in one message: «۴۵، ۱۳۸۸».
        both = self.employees_and_year(text)
        if both is not None:
            return await self.store(user_id, employees=both[0], founded_year=both[1])
        # "1 200" and "1,200" as before; else one number with words around it («۲۵ نفر»).
        digits = only_digits(text, ignore=" ,")
        count = int(digits) if digits is not None else single_number(text)
        if count is None or not 1 <= count <= MAX_EMPLOYEES:
            return await self._refuse(user_id, "employees")
        return await self.store(user_id, employees=count)

    def employees_and_year(self, text: str) -> tuple[int, int] | None:
        """Two numbers, the second a four-digit Solar Hijri year no later than this one: the
        number of employees and the founding year.  Anything else (one number, «1,200») is None."""
        numbers = _NUMBERS.findall(normalize(text))
        if len(numbers) != 2 or len(numbers[1]) != 4:
            return None
        employees, founded = int(numbers[0]), int(numbers[1])
        if not 1 <= employees <= MAX_EMPLOYEES or not EARLIEST_FOUNDING_YEAR <= founded <= self.this_year():
            return None
        return employees, founded

    def this_year(self) -> int:
        """The current Solar Hijri year, the latest a firm can have been founded in."""
        return solar_year(self.clock.now().astimezone(self.zone))

    async def give_founded(self, user_id: int, text: str) -> Answer:
        this_year = self.this_year()
        digits = only_digits(text, ignore=" ")
        if digits is None:  # one number with words around it: «سال ۱۳۸۵»
            number = single_number(text)
            digits = str(number) if number is not None and number >= 0 else None
        founded = None
        if digits is not None:
            # A two-digit year is Solar Hijri, pivoting on the clock's year: «۸۵» → 1385.
            founded = two_digit_year(int(digits), this_year) if len(digits) == 2 else int(digits)
        if founded is None or not EARLIEST_FOUNDING_YEAR <= founded <= this_year:
            gregorian = founded is not None and 1800 <= founded <= 2100
            return await self._refuse(user_id, "founded_gregorian" if gregorian else "founded", count=this_year)
        return await self.store(user_id, founded_year=founded)

    async def share_contact(self, user_id: int, *, contact_user_id: int | None, phone_number: str) -> Answer:
        """Only the sender's own contact proves the number is theirs."""
        if contact_user_id != user_id:
            return await self._refuse(user_id, "contact_other")
        phone = "+" + (only_digits(phone_number, ignore=" -+()") or "")
        return await self.store(user_id, phone=phone)

    async def consent(self, user_id: int, consent: bool) -> Answer:
        return await self.store(user_id, consent_public=consent)

    async def store(self, user_id: int, *, label: Province | Estate | Cluster | None = None,
                    drop: tuple[str, ...] = (), **fields: Any) -> Stored:
        """Commits ``fields`` (and the removal of the fields named in ``drop``) with the next step."""
        async with self.db.transaction() as repo:
            draft = await repo.drafts.get(user_id)
            data = dict(draft.data) if draft else {}
            if "province_id" in fields and fields["province_id"] != data.get("province_id"):
                # Estates and clusters belong to a province: a new province asks for them again.
                data.pop("estate_id", None)
                data.pop("estate_name", None)
                data.pop("cluster_id", None)
            if fields.get("estate_id") is not None:
                data.pop("estate_name", None)
            for name in drop:
                data.pop(name, None)
            data.update(fields)
            step = next_step(data)
            if draft is None:
                await repo.drafts.start(user_id=user_id, step=step.name, data=data, editing=False)
            else:
                await repo.drafts.update(user_id=user_id, step=step.name, data=data)
        return Stored(step, data, label=label)

    async def _refuse(self, user_id: int, reason: Reason, *, count: int = 0) -> Refused:
        return Refused(reason, await self.current(user_id), count=count)

    # --- what the questions and the review show --------------------------------------------

    async def provinces(self) -> list[Province]:
        async with self.db.read() as repo:
            return await repo.provinces.all()

    async def clusters(self, province_id: int) -> list[Cluster]:
        async with self.db.read() as repo:
            clusters = await repo.clusters.in_province(province_id)
        return sorted(clusters, key=lambda c: persian_sort_key(c.name))

    async def estates(self, province_id: int, query: str | None = None) -> EstateChoices:
        """The province's estates in Persian alphabetical order, and those ``query`` finds:
        spelling variants, ZWNJ or space, and the words «شهرک»/«ناحیه»/«صنعتی» do not matter."""
        async with self.db.read() as repo:
            estates = _by_name(await repo.estate_requests.listed_in_province(province_id))
            province = await repo.provinces.get(province_id)
        query = normalize(query)
        key = search_key(query)
        if not key:
            return EstateChoices(province, estates)
        matches = [e for e in estates if key_matches(key, search_key(e.name))]
        return EstateChoices(province, estates, matches, query)

    async def find_estate(self, user_id: int, text: str) -> Stored | EstateChoices:
        """A typed estate name: the one estate it names is chosen at once (``Stored``, its label
        the estate); otherwise what the question should list."""
        position = await self.current(user_id)
        province_id = position.data.get("province_id")
        if province_id is None:
            return EstateChoices(None, [])
        choices = await self.estates(province_id, text)
        one = the_one(choices.matches or [], search_key(choices.query))
        if one is None:
            return choices
        return await self.store(user_id, label=one, estate_id=one.id)

    async def places(self, data: dict[str, Any]) -> Places:
        async with self.db.read() as repo:
            province = await repo.provinces.get(data["province_id"]) if "province_id" in data else None
            named = await repo.estate_requests.named(data["estate_id"]) if data.get("estate_id") else None
            cluster = await repo.clusters.get(data["cluster_id"]) if data.get("cluster_id") else None
        estate = named.estate if named is not None else None
        unlisted = data.get("estate_name") if estate is None else None if named is None or named.verified else estate.name
        return Places(province, estate, cluster, unlisted=unlisted)

    async def profile(self, user_id: int) -> tuple[dict[str, Any], Places] | None:
        """The registered firm's fields and places, or None without a firm."""
        async with self.db.read() as repo:
            firm = await repo.firms.by_owner(user_id)
        if firm is None:
            return None
        data = draft_from_firm(firm)
        return data, await self.places(data)
