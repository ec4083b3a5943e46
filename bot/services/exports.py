"""Excel workbooks for estate managers (one estate) and admins (everything).

Sheets are right-to-left, headers are translated into the requester's language, and dates are
Solar Hijri.  Workbooks are written in openpyxl's streaming mode, so exporting 100,000 firms
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain.calendar import format_date
from bot.domain.questionnaire import available_versions, load_questionnaire
from bot.domain.sectors import SECTORS
from bot.i18n import N_, Translator, translator
from bot.services.dashboard import (
    ProblemTally,
    problem_questions,
    share,
    tally_problems,
    withheld_line,
)
from bot.services.offload import pack, run_heavy, unpack
from bot.settings import Settings
from storage.database import Database
from storage.models import Estate, Round
from storage.repositories.reports import FirmStatus

if TYPE_CHECKING:
    from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

STATUS = {"submitted": N_("Submitted"), "draft": N_("In progress"), None: N_("Not started")}

FIRM_HEADERS = (
    N_("Firm"), N_("National ID"), N_("Cluster"), N_("Sector"), N_("Employees"),
    N_("Registered on"), N_("Submission status"), N_("Submitted on"),
)
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
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    ws.append(row)


def _sheet(wb: Workbook, title: str, headers: list[str]) -> Any:
    ws = wb.create_sheet(title[:31])
    ws.sheet_view.rightToLeft = True
    _put(ws, headers)
    return ws


def _date(value: Any, lang: str, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return format_date(moment, lang, zone)


def _round2(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class _EstateData:
    """What the estate workbook shows, read in one snapshot."""

    estate: Estate
    round: Round | None
    published: Round | None
    firms: list[FirmStatus]
    clusters: dict[int, str]
    scores: dict[int, dict[str, Any]]
    tally: ProblemTally | None


async def estate_workbook(db: Database, estate_id: int, lang: str, settings: Settings, now: datetime) -> bytes | None:
    """Sheet 1: the estate's firms, their status in the open (or latest) round and, once a round
    is published, their scores and ranks; sheet 2: the pressure-points tally; sheet 3: notes.
    None when there is no such estate; ``now`` is the "Exported on" moment (the bot's clock)."""
    async with db.snapshot() as repo:
        estate = await repo.estates.get(estate_id)
        if estate is None:
            return None
        round_ = await repo.reports.current_or_latest_round()
        published = await repo.reports.latest_published_round()
        data = _EstateData(
            estate=estate, round=round_, published=published,
            firms=await repo.reports.firm_statuses(round_.id if round_ else None, estate_id),
            clusters=await repo.clusters.names(),
            scores=await repo.reports.estate_scores(published.id, estate_id) if published else {},
            tally=await tally_problems(repo, round_, estate_id) if round_ else None,
        )
    return await run_heavy(_estate_book, data, lang, settings.zone, now.astimezone(settings.zone))


def _estate_book(data: _EstateData, lang: str, zone: ZoneInfo, now: datetime) -> bytes:
    """The estate workbook (in the worker process)."""
    from openpyxl import Workbook  # only where workbooks are built: 0.15 s to import

    t = translator(lang)
    round_, published = data.round, data.published
    wb = Workbook(write_only=True)

    dims = load_questionnaire(published.questionnaire_version).scored_dimensions if published else ()
    headers = [t(h) for h in FIRM_HEADERS]
    if published is not None:
        headers += [t("Overall score"), *(d.title(lang) for d in dims), *(t(h) for h in SCORE_HEADERS)]
    ws = _sheet(wb, t("Firms"), headers)
    _step("firms")
    for f in data.firms:
        row: list[Any] = [
            f.name, f.national_id, data.clusters.get(f.cluster_id or 0, ""),
            _sector(t, f.sector), f.employees,
            _date(f.created_at, lang, zone), t(STATUS.get(f.status, STATUS[None])),
            _date(f.submitted_at, lang, zone),
        ]
        if published is not None:
            s = data.scores.get(f.firm_id)
            if s is None:
                row += [None] * (1 + len(dims) + len(SCORE_HEADERS))
            else:
                row += [_round2(s["composite"]), *(_round2(s["dimensions"].get(d.id)) for d in dims),
                        s["rank_estate"], s["rank_province"], s["rank_nation"]]
        _put(ws, row)

    ws = _sheet(wb, t("Pressure points"), [
        t("Problem"), t("Firms reporting it"), t("Share of respondents (%)"), t("Named as the biggest obstacle")])
    _step("pressure points")
    notes: list[str] = []
    if data.tally is not None and data.tally.withheld:
        # The sheets stay, with the reason in place of rows (a reader knows where to look).
        notes = [withheld_line(data.tally, t, lang)]
        _put(ws, notes)
    elif round_ is not None and data.tally is not None:
        tally = data.tally
        questions = problem_questions(load_questionnaire(round_.questionnaire_version))
        multi = next((q for q in questions if q.type == "multi"), None)
        single = next((q for q in questions if q.type == "single"), None)
        if multi is not None:
            for option in multi.options:
                n = tally.counts.get(multi.id, {}).get(option.id, 0)
                top = tally.counts.get(single.id, {}).get(option.id, 0) if single else 0
                _put(ws, [option.label(lang), n, round(share(n, tally.respondents), 1), top])
        notes = tally.notes
    ws = _sheet(wb, t("Notes"), [t("Notes from firms (anonymous):")])
    for note in notes:
        _put(ws, [note])

    ws = _sheet(wb, t("About"), [t("Estate"), data.estate.name])
    _put(ws, [t("Round"), round_.title if round_ else ""])
    _put(ws, [t("Scores of the round"), published.title if published else ""])
    _put(ws, [t("Exported on"), format_date(now, lang, zone)])
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
                yes if consent_public else no, _date(created_at, lang, zone)]

    ws = _sheet(wb, t("Firms"), [t(h) for h in (
        N_("Firm number"), N_("Firm"), N_("National ID"), N_("Province"), N_("Estate"), N_("Cluster"),
        N_("Sector"), N_("Employees"), N_("Year founded"), N_("Phone"), N_("Named in public rankings"),
        N_("Registered on"))])
    _append(ws, "firms", data.firms, firm)

    def submission(row: tuple[Any, ...]) -> list[Any]:
        title, firm_id, name, status, started_at, submitted_at = row
        return [title, firm_id, name, t(STATUS.get(status, STATUS[None])),
                _date(started_at, lang, zone), _date(submitted_at, lang, zone)]

    ws = _sheet(wb, t("Submissions"), [t(h) for h in (
        N_("Round"), N_("Firm number"), N_("Firm"), N_("Submission status"), N_("Started on"),
        N_("Submitted on"))])
    _append(ws, "submissions", data.submissions, submission)

    def score(row: tuple[Any, ...]) -> list[Any]:
        title, firm_id, name, composite, dimensions, rank_estate, rank_province, rank_nation, percentile = row
        values = json.loads(dimensions) if dimensions else {}
        return [title, firm_id, name or t("(deleted)"), _round2(composite),
                *(_round2(values.get(d.id)) for d in dims), rank_estate, rank_province,
                rank_nation, _round2(percentile)]

    ws = _sheet(wb, t("Scores"), [t("Round"), t("Firm number"), t("Firm"), t("Overall score"),
                                  *(d.title(lang) for d in dims), t("Rank in the estate"),
                                  t("Rank in the province"), t("National rank"), t("Percentile")])
    _append(ws, "scores", data.scores, score)
    return _save(wb)


def _append(ws: Any, sheet: str, batches: Iterable[bytes], cells: Callable[[Any], Sequence[Any]]) -> None:
    """Writes a sheet's rows, batch by batch."""
    for batch in batches:
        _step(sheet)
        for row in unpack(batch):
            _put(ws, cells(row))


def _sector(t: Translator, code: str) -> str:
    return t(SECTORS[code]) if code in SECTORS else code
