"""Estate managers onboard their firms (``OnboardingService``): a manager sends the estate's firm
list (CSV or .xlsx: name, national_id, mobile), each firm gets a personal single-use link that
opens its registration pre-filled, and the funnel counts how far the invited firms got.

The list is read by the CSV reader of the estates import (``places_import._rows``: the header
check, the row cap, the line numbers, the field limits), in the worker process; an .xlsx is first
written out as CSV there (openpyxl never runs on the event loop). Only a SHA-256 hash of each
token is stored (160 bits, hex), as for manager invitations: the links exist only in what the
manager is sent. A firm listed again gets a new link, and its older unused one is revoked.

The invitation pack (printable sheets, QR codes, the SMS texts) is built by
``bot.services.onboarding_sheets`` in the worker process.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.clock import Clock
from bot.domain.national_id import parse_licence, parse_national_code, parse_national_id, shape_problem
from bot.domain.text import fold_full_width_digits, normalize, only_digits
from bot.services.access import Access, audit
from bot.services.places_import import (
    _CONTROL,
    COLUMNS_MISMATCH,
    MAX_FIELD_CHARS,
    ImportRefused,
    _rows,
)
from bot.services.registration import NAME_LENGTH, Position, Step, next_step
from storage.database import Database
from storage.models import Estate, Province, Round
from storage.repositories import Repositories
from storage.repositories.onboarding import FirmInvitation, FunnelRow, OnboardingRepository

#: The columns of a firm list, in the order the header names them.
COLUMNS = ("name", "national_id", "mobile")
#: An optional fourth column: a sole proprietorship gives the owner's national code as its
#: national_id and its business licence number here.
LICENCE_COLUMN = "licence_no"
HEADER = ",".join(COLUMNS)
#: The deep-link payload's prefix: ``/start f_<token>``.
PAYLOAD_PREFIX = "f_"
#: 20 bytes = 160 bits, as 40 hex digits (no "_" a Markdown reader could take for italics).
TOKEN_BYTES = 20
TOKEN_PATTERN = r"[0-9a-f]{40}"
#: Invitations written per transaction.
CHUNK_ROWS = 500
#: Firms one file may list (at most the imports' row cap): a firm's sheet and QR code take about
#: 0.05 s of the worker process and 28 KB of the ZIP.
MAX_FIRMS = 1000
#: Firms in one ZIP (about 7 MB, 12 s to build): a longer list comes as several files.
PACK_FIRMS = 250


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


# --- reading the list ------------------------------------------------------------------------


class NotReadable(ImportRefused):
    """Neither UTF-8 CSV text nor an .xlsx workbook openpyxl can open."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # "text" (not UTF-8) or "xlsx"

    def __str__(self) -> str:
        return "the file is not UTF-8 CSV text" if self.kind == "text" else "the file is not an .xlsx workbook"


@dataclass(frozen=True)
class Problem:
    """Why a line of the list was not taken: a code for the handler to word, and its details."""

    code: Literal["columns", "control", "too_long", "name", "national_id", "duplicate", "mobile", "licence"]
    column: str = ""
    value: str = ""
    #: ``columns``: the fields found and expected; ``duplicate``: the line that had it first.
    found: int = 0
    expected: int = 0


@dataclass(frozen=True)
class FirmRow:
    line: int
    name: str
    national_id: str
    #: +989XXXXXXXXX, or None when the list gives none.
    mobile: str | None
    #: A sole proprietorship: ``national_id`` is the owner's 10-digit national code, this its
    #: business licence number.
    licence_no: str | None = None


@dataclass
class FirmList:
    rows: list[FirmRow] = field(default_factory=list)
    rejected: list[tuple[int, Problem]] = field(default_factory=list)


def canonical_mobile(text: str) -> str | None:
    """An Iranian mobile number as +989XXXXXXXXX («۰۹۱۲ ۱۲۳ ۴۵۶۷», 9121234567 from a spreadsheet
    that dropped the 0, +98…, 0098…), else None."""
    digits = only_digits(fold_full_width_digits(text), ignore=" -_()+.")
    if digits is None:
        return None
    for prefix in ("0098", "98", "0"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 10:
            digits = digits[len(prefix):]
            break
    if len(digits) != 10 or not digits.startswith("9"):
        return None
    return "+98" + digits


def _row_problem(raw: dict[str, str]) -> Problem | None:
    for column in (*COLUMNS, LICENCE_COLUMN):
        value = raw.get(column, "")
        if _CONTROL.search(value):
            return Problem("control", column)
        if len(normalize(value)) > MAX_FIELD_CHARS:
            return Problem("too_long", column, found=MAX_FIELD_CHARS)
    return None


#: «national id», «National-ID», «nationalid» or Bale's look-alike of "_" in a header cell.
_NATIONAL_ID_HEADER = re.compile(r"(?i)^\s*national[\s_\-\u02cd]*id\s*$")
#: «licence», «license no», «licence_number»…: the optional column of sole proprietorships.
_LICENCE_HEADER = re.compile(r"(?i)^\s*licen[cs]e([\s_\-\u02cd]*(no|number))?\s*$")


def _canonical_header(text: str) -> str:
    """The first line with the national ID column spelt as the reader expects it."""
    first, newline, rest = text.lstrip("\ufeff").partition("\n")
    delimiter = ";" if ";" in first and "," not in first else ","
    cells = ["national_id" if _NATIONAL_ID_HEADER.match(cell.strip('"')) else
             LICENCE_COLUMN if _LICENCE_HEADER.match(cell.strip('"')) else cell for cell in first.split(delimiter)]
    return delimiter.join(cells) + newline + rest


def parse_firm_list(text: str, *, max_rows: int | None = None) -> FirmList:
    """Checks every line: the fields' lengths and characters, the name, the national ID (its
    check digit, and once per file) and the mobile (when given). Raises ``ImportRefused``
    (``WrongColumns``, ``TooManyRows``, ``UnreadableLine``) for the whole file."""
    parsed = FirmList()
    first_line: dict[str, int] = {}
    low, high = NAME_LENGTH
    for line, raw in _rows(_canonical_header(text), max_rows, COLUMNS, "province"):
        if COLUMNS_MISMATCH in raw:
            found, expected = (int(n) for n in _numbers(raw[COLUMNS_MISMATCH]))
            parsed.rejected.append((line, Problem("columns", found=found, expected=expected)))
            continue
        if not any(value.strip() for value in raw.values()):
            continue  # ",," — a blank row a spreadsheet wrote out
        problem = _row_problem(raw)
        if problem is not None:
            parsed.rejected.append((line, problem))
            continue
        name = normalize(raw.get("name", ""))
        typed_id = normalize(raw.get("national_id", ""))
        typed_mobile = normalize(raw.get("mobile", ""))
        if not low <= len(name) <= high or only_digits(name) is not None:
            parsed.rejected.append((line, Problem("name", value=name)))
            continue
        national_id = parse_national_id(typed_id)
        licence: str | None = None
        if national_id is None and (code := parse_national_code(typed_id)) is not None:
            # A sole proprietorship: the owner's national code, which needs the licence number.
            typed_licence = normalize(raw.get(LICENCE_COLUMN, ""))
            licence = parse_licence(typed_licence)
            if licence is None:
                parsed.rejected.append((line, Problem("licence", value=typed_licence)))
                continue
            national_id = code
        if national_id is None:
            parsed.rejected.append((line, Problem("national_id", value=typed_id, column=shape_problem(typed_id) or "check")))
            continue
        if national_id in first_line:
            parsed.rejected.append((line, Problem("duplicate", value=national_id, found=first_line[national_id])))
            continue
        if licence is not None and f"licence:{licence}" in first_line:
            parsed.rejected.append((line, Problem("duplicate", "licence", licence, found=first_line[f"licence:{licence}"])))
            continue
        mobile = canonical_mobile(typed_mobile) if typed_mobile else None
        if typed_mobile and mobile is None:
            parsed.rejected.append((line, Problem("mobile", value=typed_mobile)))
            continue
        first_line[national_id] = line
        if licence is not None:
            first_line[f"licence:{licence}"] = line
        parsed.rows.append(FirmRow(line, name, national_id, mobile, licence))
    return parsed


def _numbers(text: str) -> list[str]:
    return [word for word in text.replace(";", " ").split() if word.isdigit()]


def _cell(value: Any) -> str:
    """A spreadsheet cell as the CSV reader should see it: an ID typed as a number stays whole."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_as_csv(data: bytes, max_rows: int | None) -> str:
    """The first sheet of a workbook as CSV text, one line per row (so line N is row N), at most
    ``max_rows`` records and one more (the reader then refuses the file as too long)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise NotReadable("xlsx") from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if sheet is not None:
            limit = None if max_rows is None else max_rows + 2
            width = 0
            for count, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if limit is not None and count > limit:
                    break
                cells = [_cell(v) for v in row]
                # Empty cells at a row's end are no fields (a sheet's rows differ in length);
                # every row gets the header's width back, so only a real extra field is one.
                while cells and cells[-1].strip() == "":
                    cells.pop()
                width = width or len(cells)
                writer.writerow(cells + [""] * (width - len(cells)) if cells else [])  # a blank row stays blank
        return out.getvalue()
    finally:
        book.close()


def is_xlsx(data: bytes, file_name: str | None) -> bool:
    return data[:4] == b"PK\x03\x04" or (file_name or "").casefold().endswith(".xlsx")


def read_firm_list(data: bytes, file_name: str | None, max_rows: int | None) -> FirmList:
    """The file's lines checked (in the worker process): an .xlsx workbook or UTF-8 CSV text."""
    if is_xlsx(data, file_name):
        text = xlsx_as_csv(data, max_rows)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise NotReadable("text") from None
    return parse_firm_list(text, max_rows=max_rows)


# --- the service -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Invited:
    invitation_id: int
    #: The token itself, in the pack the manager is sent and never stored.
    token: str
    row: FirmRow

    @property
    def payload(self) -> str:
        return PAYLOAD_PREFIX + self.token


@dataclass
class Batch:
    estate: Estate
    invited: list[Invited] = field(default_factory=list)
    #: Lines whose national ID is already a registered firm's: no invitation.
    registered: list[FirmRow] = field(default_factory=list)
    #: Older unused links of the same firms, revoked.
    replaced: int = 0


@dataclass(frozen=True)
class Card:
    """What a firm's link opens: its listed details, for the owner to confirm."""

    invitation: FirmInvitation
    estate: Estate
    province: Province | None


@dataclass(frozen=True)
class Unusable:
    """A link that cannot be used: unknown, revoked, used by another account, the opener's
    account already has another firm, or the national ID is registered by another account.
    ``registered_here``: this user's firm is the invited one (nothing left to do)."""

    problem: Literal["forged", "revoked", "used", "has_firm", "id_taken", "inactive"]
    invitation: FirmInvitation | None = None
    registered_here: bool = False


@dataclass(frozen=True)
class FunnelCounts:
    invited: int
    opened: int
    registered: int
    submitted: int


@dataclass(frozen=True)
class OnboardingFunnel:
    estate: Estate
    round: Round | None
    rows: list[FunnelRow]

    @property
    def counts(self) -> FunnelCounts:
        return FunnelCounts(
            invited=len(self.rows), opened=sum(r.opened for r in self.rows),
            registered=sum(r.firm_id is not None for r in self.rows), submitted=sum(r.submitted for r in self.rows),
        )

    def phone_differs(self, row: FunnelRow) -> bool:
        """The firm registered with another mobile than the one on the list."""
        return row.firm_phone is not None and row.mobile is not None and canonical_mobile(row.firm_phone) != row.mobile


def onboarding(repo: Repositories) -> OnboardingRepository:
    return OnboardingRepository(repo.conn)


class OnboardingService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    async def estates(self, access: Access) -> list[Estate]:
        """The active estates the user may onboard firms into (an admin: any they name)."""
        async with self.db.read() as repo:
            found = [await repo.estates.get(e) for e in access.estates]
        return [e for e in found if e is not None and e.active]

    async def estate(self, estate_id: int) -> Estate | None:
        async with self.db.read() as repo:
            estate = await repo.estates.get(estate_id)
        return estate if estate is not None and estate.active else None

    async def invite(self, actor: int, estate: Estate, firms: FirmList) -> Batch:
        """A link for each listed firm not registered yet; the same firm's older unused links
        are revoked. Written a chunk at a time, each in its own short transaction; audited."""
        batch = Batch(estate)
        for start in range(0, len(firms.rows), CHUNK_ROWS):
            chunk = firms.rows[start:start + CHUNK_ROWS]
            async with self.db.transaction() as repo:
                store = onboarding(repo)
                fresh = []
                for row in chunk:
                    if await repo.firms.by_national_id(row.national_id) is not None or (
                            row.licence_no is not None and await repo.firms.by_licence(row.licence_no) is not None):
                        batch.registered.append(row)
                    else:
                        fresh.append(row)
                batch.replaced += await store.revoke_open_for(estate.id, [r.national_id for r in fresh])
                for row in fresh:
                    token = secrets.token_hex(TOKEN_BYTES)
                    invitation_id = await store.add(token_hash=token_hash(token), estate_id=estate.id, name=row.name,
                                                    national_id=row.national_id, mobile=row.mobile, by=actor,
                                                    licence_no=row.licence_no)
                    batch.invited.append(Invited(invitation_id, token, row))
        async with self.db.transaction() as repo:
            await audit(repo, user_id=actor, action="onboard_invite", target=f"estate:{estate.id}",
                        detail=f"{len(batch.invited)} invited, {len(batch.registered)} already registered, "
                               f"{len(firms.rejected)} lines rejected, {batch.replaced} older links revoked")
        return batch

    async def _check(self, repo: Repositories, user_id: int, inv: FirmInvitation | None) -> Unusable | None:
        if inv is None:
            return Unusable("forged")
        firm = await repo.firms.by_owner(user_id)
        if firm is not None and firm.national_id == inv.national_id:
            return Unusable("used", inv, registered_here=True)
        if inv.revoked_at is not None:
            return Unusable("revoked", inv)
        if inv.used_by is not None and inv.used_by != user_id:
            return Unusable("used", inv)
        if firm is not None:
            return Unusable("has_firm", inv)
        holder = await repo.firms.by_national_id(inv.national_id)
        if holder is None and inv.licence_no is not None:
            holder = await repo.firms.by_licence(inv.licence_no)
        if holder is not None:
            return Unusable("id_taken", inv)
        estate = await repo.estates.get(inv.estate_id)
        if estate is None or not estate.active:
            return Unusable("inactive", inv)
        return None

    async def open(self, user_id: int, token: str) -> Card | Unusable:
        """``/start f_<token>``: the firm's listed details, or why the link cannot be used. The
        first opening is the funnel's "opened"; every opening is audited."""
        async with self.db.transaction() as repo:
            inv = await onboarding(repo).by_hash(token_hash(token))
            if inv is not None:
                await onboarding(repo).mark_opened(inv.id)
            problem = await self._check(repo, user_id, inv)
            await audit(repo, user_id=user_id, action="firm_link_open", target=f"firm invitation {inv.id}" if inv else "unknown token",
                        ok=problem is None, detail=problem.problem if problem else None)
            if problem is not None:
                return problem
            assert inv is not None
            estate = await repo.estates.get(inv.estate_id)
            assert estate is not None
            province = await repo.provinces.get(estate.province_id)
        return Card(inv, estate, province)

    async def accept(self, user_id: int, token: str) -> Position | Unusable:
        """The owner confirmed the listed details: the link is theirs from now on (single use),
        and their registration draft holds the name, national ID, province and estate; the
        position is the first step still missing. Pressed again (or the link opened again by the
        same user) it resumes the same draft."""
        async with self.db.transaction() as repo:
            store = onboarding(repo)
            inv = await store.by_hash(token_hash(token))
            problem = await self._check(repo, user_id, inv)
            if problem is None and inv is not None and inv.used_by is None and not await store.use(inv.id, user_id=user_id):
                problem = Unusable("used", inv)
            if problem is not None:
                await audit(repo, user_id=user_id, action="firm_link_accept", ok=False, detail=problem.problem,
                            target=f"firm invitation {inv.id}" if inv else "unknown token")
                return problem
            assert inv is not None
            estate = await repo.estates.get(inv.estate_id)
            assert estate is not None
            draft = await repo.drafts.get(user_id)
            data: dict[str, Any] = dict(draft.data) if draft is not None and not draft.editing else {}
            if data.get("province_id") != estate.province_id:
                data.pop("cluster_id", None)
            data.update(name=inv.name, national_id=inv.national_id, province_id=estate.province_id, estate_id=estate.id)
            # The draft's other identity (bot.services.registration): a sole proprietorship
            # carries its licence number, a legal entity none.
            if inv.licence_no is not None:
                data.update(sole=True, licence_no=inv.licence_no)
            else:
                data.pop("sole", None)
                data.pop("licence_no", None)
            step: Step = next_step(data)
            await repo.drafts.start(user_id=user_id, step=step.name, data=data, editing=False)
            await audit(repo, user_id=user_id, action="firm_link_accept", target=f"firm invitation {inv.id}",
                        detail=f"estate {estate.id}")
        return Position(step, data)

    async def decline(self, user_id: int, token: str) -> None:
        async with self.db.transaction() as repo:
            inv = await onboarding(repo).by_hash(token_hash(token))
            await audit(repo, user_id=user_id, action="firm_link_decline",
                        target=f"firm invitation {inv.id}" if inv else "unknown token")

    async def revoke(self, access: Access, invitation_id: int) -> Literal["revoked", "unknown", "used", "already", "forbidden"]:
        """Withdraws a link not used yet, of an estate the user manages (admins: any)."""
        async with self.db.transaction() as repo:
            store = onboarding(repo)
            inv = await store.by_id(invitation_id)
            if inv is None:
                return "unknown"
            if not access.may_manage(inv.estate_id):
                await audit(repo, user_id=access.user_id, action="onboard_revoke", target=f"firm invitation {inv.id}",
                            ok=False, detail="not a manager of this estate")
                return "forbidden"
            if await store.revoke(invitation_id):
                await audit(repo, user_id=access.user_id, action="onboard_revoke", target=f"firm invitation {inv.id}")
                return "revoked"
        return "used" if inv.used_by is not None else "already"

    async def funnel(self, access: Access, estate: Estate) -> OnboardingFunnel:
        """invited → opened → registered → submitted (in the open, else the latest, round), with
        each listed firm's state; the caller checked ``access.may_manage``. Audited as a view."""
        async with self.db.read() as repo:
            round_ = await repo.reports.current_or_latest_round()
            rows = await onboarding(repo).funnel(estate.id, round_.id if round_ else None)
        async with self.db.transaction() as repo:
            await audit(repo, user_id=access.user_id, action="onboarding", target=f"estate:{estate.id}")
        return OnboardingFunnel(estate, round_, rows)
