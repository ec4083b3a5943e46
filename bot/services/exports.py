"""Excel workbooks for estate managers (one estate, or all of theirs) and admins (everything).

Sheets are right-to-left, headers are translated into the requester's language, bold, wrapped,
frozen and filtered, and dates are Solar Hijri text with a real date beside them for sorting.
An estate workbook is of one round (the open or latest one, or the one chosen): no row holds
figures of two rounds, and where two rounds' rows meet (a new round's pressure points followed
by the previous round's) each names its round.  Workbooks are written in openpyxl's streaming mode, so exporting 100,000 firms
keeps memory flat.

Everything is read through ``db.snapshot()`` (one consistent state, on a reader connection: the
writer is never held, so firms keep answering while an export runs), then the workbook is built
from that data in the worker process (``bot.services.offload.run_heavy``): turning rows into
cells and XML is CPU-bound Python, which in the bot's own process would slow every reply.  The
national export pickles its rows batch by batch as it reads them (each pickle holds the bot's
GIL for about a millisecond; one pickle of everything would hold it for tens), so what is sent
to the worker is a list of bytes.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain.calendar import format_date
from bot.domain.questionnaire import Questionnaire, available_versions, load_questionnaire
from bot.domain.questionnaire.answers import display
from bot.domain.scoring import score_submission
from bot.domain.sectors import SECTORS
from bot.domain.text import localize_digits, persian_sort_key, rounded
from bot.i18n import N_, Translator, translator
from bot.services.assessment import reference_year
from bot.services.dashboard import (
    RoundChoice,
    RoundTally,
    choose_round,
    pressure_points,
    problem_questions,
    share,
    withheld_line,
)
from bot.services.offload import pack, run_heavy, unpack
from bot.settings import Settings
from storage.database import Database
from storage.models import Estate, Round
from storage.packed_answers import RS, US, unpack_ids
from storage.repositories.reports import FirmStatus

# openpyxl is imported only where workbooks are built, in the worker process: importing it
# takes 0.15–0.25 s, which on the bot's event loop (the first export imports this module)
# would hold every reply that long.
if TYPE_CHECKING:
    from openpyxl import Workbook

STATUS = {"submitted": N_("Submitted"), "draft": N_("In progress"), None: N_("Not started")}

SCORE_HEADERS = (N_("Rank in the estate"), N_("Rank in the province"), N_("National rank"))

#: Called where the workbook is built with a sheet's name before each batch of its rows is
#: written.  None in production; tests set it to hold an export half-built and look at the bot
#: meanwhile (with ``KHOOSHE_OFFLOAD=thread``: the hook is this process's, not the worker's).
on_build_step: Callable[[str], None] | None = None


def _step(sheet: str) -> None:
    hook = on_build_step
    if hook is not None:
        hook(sheet)


def _put(ws: Any, values: Sequence[Any]) -> None:
    """Appends a row; a text that openpyxl would take for a formula is written as a text cell."""
    row: list[Any] = []
    for value in values:
        if isinstance(value, str) and value.startswith("="):
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    ws.append(row)


#: Rows a worksheet holds, its header included (Excel's limit); a longer sheet continues in
#: another one named "<title> (2)".
MAX_ROWS = 1_048_576
#: Column widths, in characters, for kinds of columns (others fit their header).
NAME_WIDTH, TEXT_WIDTH, DATE_WIDTH, NOTE_WIDTH = 32, 44, 12, 80


def _header_cell(ws: Any, header: str) -> Any:
    """A header: bold, and wrapped onto more lines where it is wider than its column (a date
    column is as wide as a date, its header "… (date for sorting)" is not)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    cell = WriteOnlyCell(ws, value=header)
    cell.data_type = "s"
    cell.font = Font(bold=True)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


class _Sheet:
    """A write-only, right-to-left sheet whose header row stays in view and filters its rows,
    with columns wide enough to read without resizing them."""

    def __init__(self, wb: Workbook, title: str, headers: Sequence[str], widths: Sequence[int | None] = ()) -> None:
        from openpyxl.utils import get_column_letter

        ws = wb.create_sheet(title[:31])
        ws.sheet_view.rightToLeft = True
        for i, header in enumerate(headers):
            width = widths[i] if i < len(widths) else None
            ws.column_dimensions[get_column_letter(i + 1)].width = width or max(10, min(40, len(header) + 4))
        ws.freeze_panes = "A2"
        ws.append([_header_cell(ws, header) for header in headers])
        self.ws, self.columns, self.rows = ws, len(headers), 1

    def put(self, values: Sequence[Any]) -> None:
        _put(self.ws, values)
        self.rows += 1

    def close(self) -> None:
        """Sets the filter over every row written (openpyxl writes it when the book is saved)."""
        from openpyxl.utils import get_column_letter

        self.ws.auto_filter.ref = f"A1:{get_column_letter(self.columns)}{self.rows}"


def _date(value: Any, lang: str, zone: ZoneInfo) -> str:
    """A moment as its Solar Hijri day, as text (what a reader in Iran reads)."""
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return format_date(moment, lang, zone)


def _day(value: Any, zone: ZoneInfo) -> date | None:
    """The same day as a real date cell (Gregorian inside Excel), so a column sorts and filters
    by time: Solar Hijri text sorts right only while every month has two digits."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(zone).date()


def _dated(t: Translator, header: str) -> list[str]:
    """A date's two headers: its Solar Hijri text, then the sortable date."""
    return [t(header), t("{column} (date for sorting)", column=t(header))]


def _score(value: Any) -> float | None:
    """A score or share as the bot's messages show it (one decimal, ``rounded``)."""
    return None if value is None else float(rounded(float(value), 1))


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class _EstatePart:
    """One estate of an estate workbook, read in the workbook's snapshot."""

    estate: Estate
    firms: list[FirmStatus]
    scores: dict[int, dict[str, Any]]
    #: The round's pressure points, then the previous round's while the round's show nothing.
    tallies: list[RoundTally]


@dataclass(frozen=True)
class _EstateData:
    """What an estate workbook shows: one estate, or several (each row then names its estate,
    and a summary sheet comes first)."""

    parts: list[_EstatePart]
    many: bool
    round: Round | None
    #: Whether the round's results are published (its scores and ranks are then shown).
    published: bool
    clusters: dict[int, str]


@dataclass(frozen=True)
class EstateExport:
    """A built estate workbook and the rounds it was built from."""

    data: bytes
    choice: RoundChoice


async def estate_workbook(
    db: Database, estate_id: int, lang: str, settings: Settings, now: datetime, round_id: int | None = None,
) -> EstateExport | None:
    """One estate's workbook for the round ``round_id`` (None: the open or latest one): sheet
    1 the estate's firms, their status in that round and, when the round is published, their
    scores and ranks in it; sheet 2 the pressure-points tally; sheet 3 the notes; sheet 4 what
    the file is.  Every row belongs to one round, named where two could meet.  None when there
    is no such estate or round; ``now`` is the "Exported on" moment (the bot's clock)."""
    return await estates_workbook(db, [estate_id], lang, settings, now, round_id, many=False)


async def estates_workbook(
    db: Database, estate_ids: Sequence[int], lang: str, settings: Settings, now: datetime,
    round_id: int | None = None, *, many: bool = True,
) -> EstateExport | None:
    """Several estates (a manager's «all my estates») in one workbook: a summary sheet with a
    row per estate and the total, then the sheets of the one-estate workbook with an estate
    column.  Pressure points and notes stay per estate, each behind its own floor of
    ``MIN_RESPONDENTS`` submissions."""
    async with db.snapshot() as repo:
        choice = await choose_round(repo, round_id)
        if choice is None:
            return None
        round_ = choice.round
        published = round_ is not None and round_.published_at is not None
        parts = []
        for estate_id in estate_ids:
            estate = await repo.estates.get(estate_id)
            if estate is None:
                continue
            parts.append(_EstatePart(
                estate=estate,
                firms=await repo.reports.firm_statuses(round_.id if round_ else None, estate_id),
                scores=await repo.reports.estate_scores(round_.id, estate_id) if round_ and published else {},
                tallies=await pressure_points(repo, choice, estate_id),
            ))
        if not parts:
            return None
        parts.sort(key=lambda part: persian_sort_key(part.estate.name))
        data = _EstateData(parts=parts, many=many, round=round_, published=published,
                           clusters=await repo.clusters.names())
    built = await run_heavy(_estate_book, data, lang, settings.zone, now.astimezone(settings.zone))
    return EstateExport(built, choice)


def _estate_book(data: _EstateData, lang: str, zone: ZoneInfo, now: datetime) -> bytes:
    """The estate workbook (in the worker process)."""
    from openpyxl import Workbook  # only where workbooks are built: 0.15 s to import

    t = translator(lang)
    round_, many = data.round, data.many
    wb = Workbook(write_only=True)
    estate_head = [t("Estate")] if many else []
    estate_width: list[int | None] = [NAME_WIDTH] if many else []

    if many:
        sheet = _Sheet(wb, t("Summary"), [t("Estate"), t("Firms registered"), t("Submitted"), t("In progress"),
                                          t("Not started"), t("Share submitted (%)")], [NAME_WIDTH])
        totals = [0, 0, 0, 0]
        for part in data.parts:
            counts = Counter(f.status for f in part.firms)
            figures = [len(part.firms), counts["submitted"], counts["draft"], counts[None]]
            totals = [a + b for a, b in zip(totals, figures, strict=True)]
            sheet.put([part.estate.name, *figures, _score(share(figures[1], figures[0]))])
        sheet.put([t("All my estates"), *totals, _score(share(totals[1], totals[0]))])
        sheet.close()

    dims = load_questionnaire(round_.questionnaire_version).scored_dimensions if round_ and data.published else ()
    headers = [*estate_head, t("Firm"), t("National ID"), t("Phone"), t("Cluster"), t("Sector"), t("Employees"),
               *_dated(t, N_("Registered on")), t("Submission status"), *_dated(t, N_("Submitted on"))]
    widths: list[int | None] = [*estate_width, NAME_WIDTH, 14, 16, NAME_WIDTH, TEXT_WIDTH, None, DATE_WIDTH,
                                DATE_WIDTH, None, DATE_WIDTH, DATE_WIDTH]
    if data.published:
        headers += [t("Overall score"), *(d.title(lang) for d in dims), *(t(h) for h in SCORE_HEADERS)]
    sheet = _Sheet(wb, t("Firms"), headers, widths)
    _step("firms")
    for part in data.parts:
        where = [part.estate.name] if many else []
        for f in part.firms:
            row: list[Any] = [
                # The estate's managers may call the firm: the registration says so where it asks.
                *where, f.name, f.national_id, f.phone or "", data.clusters.get(f.cluster_id or 0, ""),
                _sector(t, f.sector), f.employees,
                _date(f.created_at, lang, zone), _day(f.created_at, zone), t(STATUS.get(f.status, STATUS[None])),
                _date(f.submitted_at, lang, zone), _day(f.submitted_at, zone),
            ]
            if data.published:
                s = part.scores.get(f.firm_id)
                if s is None:
                    row += [None] * (1 + len(dims) + len(SCORE_HEADERS))
                else:
                    row += [_score(s["composite"]), *(_score(s["dimensions"].get(d.id)) for d in dims),
                            s["rank_estate"], s["rank_province"], s["rank_nation"]]
            sheet.put(row)
    sheet.close()

    # A round column: while the round's own pressure points show nothing, the previous round's
    # follow, and a row must say whose they are.
    sheet = _Sheet(wb, t("Pressure points"), [
        *estate_head, t("Problem"), t("Firms reporting it"), t("Share of respondents (%)"),
        t("Named as the biggest obstacle"), t("Round")], [*estate_width, TEXT_WIDTH, None, None, None, NAME_WIDTH])
    _step("pressure points")
    notes: list[list[Any]] = []
    for part in data.parts:
        where = [part.estate.name] if many else []
        for item in part.tallies:
            tally, title = item.tally, item.round.title
            if tally.withheld:
                # The sheets stay, with the reason in place of rows (a reader knows where to look).
                reason = withheld_line(tally, t, lang)
                sheet.put([*where, reason, None, None, None, title])
                notes.append([*where, reason, title])
                continue
            if tally.respondents == 0:  # one line, not a zero for every problem
                sheet.put([*where, t("No pressure points have been reported in this round yet."), None, None, None,
                           title])
                continue
            questions = problem_questions(load_questionnaire(item.round.questionnaire_version))
            multi = next((q for q in questions if q.type == "multi"), None)
            single = next((q for q in questions if q.type == "single"), None)
            if multi is not None:
                for option in multi.options:
                    n = tally.counts.get(multi.id, {}).get(option.id, 0)
                    top = tally.counts.get(single.id, {}).get(option.id, 0) if single else 0
                    sheet.put([*where, option.label(lang), n, _score(share(n, tally.respondents)), top, title])
            notes += [[*where, note, title] for note in tally.notes]
    sheet.close()
    sheet = _Sheet(wb, t("Notes"), [*estate_head, t("Notes from firms (anonymous):"), t("Round")],
                   [*estate_width, NOTE_WIDTH, NAME_WIDTH])
    for note in notes:
        sheet.put(note)
    sheet.close()

    about = t("All my estates") if many else data.parts[0].estate.name
    sheet = _Sheet(wb, t("About"), [t("Estate"), about], [TEXT_WIDTH, TEXT_WIDTH])
    if many:
        sheet.put([t("Estates"), localize_digits(str(len(data.parts)), lang)])
    sheet.put([t("Round"), round_.title if round_ else ""])
    sheet.put([t("Scores of the round"), round_.title if round_ and data.published
               else t("Not published yet: the export of a published round holds its scores.") if round_ else ""])
    sheet.put([t("Exported on"), format_date(now, lang, zone)])
    sheet.close()
    return _save(wb)


@dataclass(frozen=True)
class _NationalData:
    """What the national workbook shows, read in one snapshot: names by id, and the rows of
    each sheet as pickled batches of plain tuples (columns as the ``export_*`` queries)."""

    estates: dict[int, str]
    clusters: dict[int, str]
    provinces: dict[int, str]
    firms: list[bytes]
    submissions: list[bytes]
    scores: list[bytes]


async def national_workbook(db: Database, lang: str, settings: Settings) -> bytes:
    """Every live firm, every submission and every score, one sheet each."""
    async with db.snapshot() as repo:
        estates, clusters = await repo.estates.names(), await repo.clusters.names()
        provinces = {p.id: p.name(lang) for p in await repo.provinces.all()}
        firms = [pack([tuple(r) for r in batch]) async for batch in repo.reports.export_firms()]
        submissions = [pack([tuple(r) for r in batch]) async for batch in repo.reports.export_submissions()]
        scores = [pack([tuple(r) for r in batch]) async for batch in repo.reports.export_scores()]
    data = _NationalData(estates, clusters, provinces, firms, submissions, scores)
    return await run_heavy(_national_book, data, lang, settings.zone)


def _national_book(data: _NationalData, lang: str, zone: ZoneInfo) -> bytes:
    """The national workbook (in the worker process)."""
    from openpyxl import Workbook  # only where workbooks are built: 0.15 s to import

    t = translator(lang)
    wb = Workbook(write_only=True)
    dims = load_questionnaire(max(available_versions())).scored_dimensions
    yes, no = t("Yes"), t("No")
    estates, clusters, provinces = data.estates, data.clusters, data.provinces

    def firm(row: tuple[Any, ...]) -> list[Any]:
        (id_, name, national_id, province_id, estate_id, cluster_id, sector, employees,
         founded_year, phone, consent_public, created_at) = row
        return [id_, name, national_id, provinces.get(province_id, ""), estates.get(estate_id, ""),
                clusters.get(cluster_id or 0, ""), _sector(t, sector), employees, founded_year, phone,
                yes if consent_public else no, _date(created_at, lang, zone), _day(created_at, zone)]

    sheet = _Sheet(wb, t("Firms"), [
        t("Firm number"), t("Firm"), t("National ID"), t("Province"), t("Estate"), t("Cluster"),
        t("Sector"), t("Employees"), t("Year founded"), t("Phone"), t("Named in public rankings"),
        *_dated(t, N_("Registered on"))],
        [None, NAME_WIDTH, 14, 16, NAME_WIDTH, NAME_WIDTH, TEXT_WIDTH, None, None, 16, None, DATE_WIDTH, DATE_WIDTH])
    _append(sheet, "firms", data.firms, firm)

    def submission(row: tuple[Any, ...]) -> list[Any]:
        title, firm_id, name, status, started_at, submitted_at = row
        return [title, firm_id, name, t(STATUS.get(status, STATUS[None])),
                _date(started_at, lang, zone), _day(started_at, zone),
                _date(submitted_at, lang, zone), _day(submitted_at, zone)]

    sheet = _Sheet(wb, t("Submissions"), [
        t("Round"), t("Firm number"), t("Firm"), t("Submission status"), *_dated(t, N_("Started on")),
        *_dated(t, N_("Submitted on"))],
        [NAME_WIDTH, None, NAME_WIDTH, None, DATE_WIDTH, DATE_WIDTH, DATE_WIDTH, DATE_WIDTH])
    _append(sheet, "submissions", data.submissions, submission)

    def score(row: tuple[Any, ...]) -> list[Any]:
        title, firm_id, name, composite, dimensions, rank_estate, rank_province, rank_nation, percentile = row
        values = json.loads(dimensions) if dimensions else {}
        return [title, firm_id, name or t("(deleted)"), _score(composite),
                *(_score(values.get(d.id)) for d in dims), rank_estate, rank_province,
                rank_nation, _score(percentile)]

    sheet = _Sheet(wb, t("Scores"), [t("Round"), t("Firm number"), t("Firm"), t("Overall score"),
                                     *(d.title(lang) for d in dims), t("Rank in the estate"),
                                     t("Rank in the province"), t("National rank"), t("Percentile")],
                   [NAME_WIDTH, None, NAME_WIDTH])
    _append(sheet, "scores", data.scores, score)
    return _save(wb)


@dataclass(frozen=True)
class _AnswersData:
    """One round's submitted answers, read in one snapshot: the rows of ``export_answers`` as
    pickled batches, and the ``answer_values`` that their packed copies name."""

    round: Round
    answers: list[bytes]
    #: answer_values id -> (question id, stored JSON value)
    values: dict[int, tuple[str, str]]


async def answers_workbook(db: Database, round_id: int | None, lang: str, settings: Settings) -> tuple[Round, bytes] | None:
    """Every answer of a round (``round_id``, or the open or latest one), one row per firm and
    question, in its own workbook: at 100,000 firms it has millions of cells and takes minutes
    to write, which the firms, submissions and scores export should not wait for.  None when
    there is no such round."""
    async with db.snapshot() as repo:
        round_ = await repo.rounds.get(round_id) if round_id is not None else await repo.reports.current_or_latest_round()
        if round_ is None:
            return None
        answers = [pack([tuple(r) for r in batch]) async for batch in repo.reports.export_answers(round_.id)]
        values = await repo.reports.answer_values() if answers else {}
    return round_, await run_heavy(_answers_book, _AnswersData(round_, answers, values), lang)


def _answers_book(data: _AnswersData, lang: str) -> bytes:
    """The answers workbook (in the worker process): one row per question each firm answered,
    or had skipped by an earlier answer (with the value the skip implies, marked so), with the
    points it scored; a sheet of the questions' texts.  Free-text notes stay out: the estate's
    managers read them anonymously, and here they would stand next to the firm's name.  More
    rows than a sheet holds continue in "<title> (2)"."""
    from openpyxl import Workbook  # only where workbooks are built: 0.15 s to import

    t = translator(lang)
    wb = Workbook(write_only=True)
    round_ = data.round
    questionnaire = load_questionnaire(round_.questionnaire_version)
    ref_year = reference_year(round_)
    private = set(questionnaire.free_text_ids)
    title = t("Answers")
    # The long format a reader filters and pivots without looking anything up: the round and
    # the question's text on every row (seven cells a row where five would do costs about a
    # third more time, in the worker process; repeated texts are stored once, as shared strings).
    headers = [t("Firm number"), t("Firm"), t("Round"), t("Question"), t("Question text"), t("Answer"),
               t("Points (0–100)")]
    widths: list[int | None] = [None, NAME_WIDTH, NAME_WIDTH, None, NOTE_WIDTH, TEXT_WIDTH]
    texts = {q.id: q.text.get(lang) for q in questionnaire.questions}
    sheets = 1
    sheet = _Sheet(wb, title, headers, widths)
    skipped_mark = t("(skipped: implied by an earlier answer)")
    for batch in data.answers:
        _step("answers")
        for firm_id, name, sector, packed, packed_text, loose in unpack(batch):
            answers = _stored_answers(packed, packed_text, loose, data.values)
            score = score_submission(questionnaire, answers, sector=sector, reference_year=ref_year)
            skipped = questionnaire.skipped(sector, answers)
            for q in questionnaire.questions_for(sector):
                if q.id in private:
                    continue
                implied = q.id in skipped
                value = skipped[q.id] if implied else answers.get(q.id)
                if value is None:
                    continue
                shown = _shown(questionnaire, q.id, value, lang)
                if sheet.rows >= MAX_ROWS:
                    sheet.close()
                    sheets += 1
                    sheet = _Sheet(wb, f"{title} ({localize_digits(str(sheets), lang)})", headers, widths)
                sheet.put([firm_id, name, round_.title, q.id, texts[q.id],
                           f"{shown} {skipped_mark}" if implied else shown, _score(score.question_scores.get(q.id))])
    sheet.close()
    sheet = _Sheet(wb, t("Questions"), [t("Question"), t("Question text")], [None, NOTE_WIDTH])
    for q in questionnaire.questions:
        if q.id not in private:
            sheet.put([q.id, q.text.get(lang)])
    sheet.close()
    sheet = _Sheet(wb, t("About"), [t("Round"), round_.title], [TEXT_WIDTH, TEXT_WIDTH])
    sheet.put([t("Questionnaire version"), round_.questionnaire_version])
    sheet.close()
    return _save(wb)


def _stored_answers(packed: bytes | None, packed_text: str | None, loose: str | None,
                    values: dict[int, tuple[str, str]]) -> dict[str, Any]:
    """A submission's answers (question id -> stored value) from its packed copy, or from the
    answers table's rows when it has none (storage/packed_answers.py)."""
    pairs: list[tuple[str, str]] = []
    if packed is not None:
        pairs += [values[i] for i in unpack_ids(packed) if i in values]
        text = packed_text
    else:
        text = loose
    if text:
        pairs += [tuple(item.split(US, 1)) for item in text.split(RS)]  # type: ignore[misc]
    return {qid: json.loads(value) for qid, value in pairs}


def _shown(questionnaire: Questionnaire, qid: str, value: Any, lang: str) -> str:
    return localize_digits(display(questionnaire.question(qid), value, lang, limit=10_000), lang)


def _append(sheet: _Sheet, name: str, batches: Iterable[bytes], cells: Callable[[Any], Sequence[Any]]) -> None:
    """Writes a sheet's rows, batch by batch, then its filter."""
    for batch in batches:
        _step(name)
        for row in unpack(batch):
            sheet.put(cells(row))
    sheet.close()


def _sector(t: Translator, code: str) -> str:
    return t(SECTORS[code]) if code in SECTORS else code
