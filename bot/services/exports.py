"""Excel workbooks for estate managers (one estate) and admins (everything).

Sheets are right-to-left, headers are translated into the requester's language, and dates are
Solar Hijri.  Workbooks are written in openpyxl's streaming mode, so exporting 100,000 firms
keeps memory flat.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

from openpyxl import Workbook

from bot.domain.calendar import format_date
from bot.domain.questionnaire import available_versions, load_questionnaire
from bot.domain.sectors import SECTORS
from bot.i18n import N_, Translator, translator
from bot.services.dashboard import problem_questions, share, tally_problems
from bot.settings import Settings
from storage.repositories import Repositories

STATUS = {"submitted": N_("Submitted"), "draft": N_("In progress"), None: N_("Not started")}

FIRM_HEADERS = (
    N_("Firm"), N_("National ID"), N_("Cluster"), N_("Sector"), N_("Employees"),
    N_("Registered on"), N_("Submission status"), N_("Submitted on"),
)
SCORE_HEADERS = (N_("Rank in the estate"), N_("Rank in the province"), N_("National rank"))


def _sheet(wb: Workbook, title: str, headers: list[str]) -> Any:
    ws = wb.create_sheet(title[:31])
    ws.sheet_view.rightToLeft = True
    ws.append(headers)
    return ws


def _date(value: Any, lang: str, settings: Settings) -> str:
    if value is None:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return format_date(moment, lang, settings.zone)


def _round2(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


async def _names(repo: Repositories, table: str) -> dict[int, str]:
    rows = await repo.conn.execute_fetchall(f"SELECT id, name FROM {table}")
    return {r[0]: r[1] for r in rows}


async def estate_workbook(repo: Repositories, estate_id: int, lang: str, settings: Settings) -> bytes:
    """Sheet 1: the estate's firms, their status in the open (or latest) round and, once a round
    is published, their scores and ranks; sheet 2: the pressure-points tally; sheet 3: notes."""
    t = translator(lang)
    estate = await repo.estates.get(estate_id)
    assert estate is not None
    round_ = await repo.reports.current_or_latest_round()
    published = await repo.reports.latest_published_round()
    firms = await repo.reports.firm_statuses(round_.id if round_ else None, estate_id)
    clusters = await _names(repo, "clusters")
    wb = Workbook(write_only=True)

    dims = load_questionnaire(published.questionnaire_version).scored_dimensions if published else ()
    headers = [t(h) for h in FIRM_HEADERS]
    scores: dict[int, dict[str, Any]] = {}
    if published is not None:
        scores = await repo.reports.estate_scores(published.id, estate_id)
        headers += [t("Overall score"), *(d.title(lang) for d in dims), *(t(h) for h in SCORE_HEADERS)]
    ws = _sheet(wb, t("Firms"), headers)
    for f in firms:
        row: list[Any] = [
            f.name, f.national_id, clusters.get(f.cluster_id or 0, ""),
            t(SECTORS[f.sector]) if f.sector in SECTORS else f.sector, f.employees,
            _date(f.created_at, lang, settings), t(STATUS.get(f.status, STATUS[None])),
            _date(f.submitted_at, lang, settings),
        ]
        if published is not None:
            s = scores.get(f.firm_id)
            if s is None:
                row += [None] * (1 + len(dims) + len(SCORE_HEADERS))
            else:
                row += [_round2(s["composite"]), *(_round2(s["dimensions"].get(d.id)) for d in dims),
                        s["rank_estate"], s["rank_province"], s["rank_nation"]]
        ws.append(row)

    ws = _sheet(wb, t("Pressure points"), [
        t("Problem"), t("Firms reporting it"), t("Share of respondents (%)"), t("Named as the biggest obstacle")])
    notes: list[str] = []
    if round_ is not None:
        tally = await tally_problems(repo, round_, estate_id)
        questionnaire = load_questionnaire(round_.questionnaire_version)
        questions = problem_questions(questionnaire)
        multi = next((q for q in questions if q.type == "multi"), None)
        single = next((q for q in questions if q.type == "single"), None)
        if multi is not None:
            for option in multi.options:
                n = tally.counts.get(multi.id, {}).get(option.id, 0)
                top = tally.counts.get(single.id, {}).get(option.id, 0) if single else 0
                ws.append([option.label(lang), n, round(share(n, tally.respondents), 1), top])
        notes = tally.notes
    ws = _sheet(wb, t("Notes"), [t("Notes from firms (anonymous):")])
    for note in notes:
        ws.append([note])

    ws = _sheet(wb, t("About"), [t("Estate"), estate.name])
    ws.append([t("Round"), round_.title if round_ else ""])
    ws.append([t("Scores of the round"), published.title if published else ""])
    ws.append([t("Exported on"), format_date(datetime.now(settings.zone), lang, settings.zone)])
    return _save(wb)


async def national_workbook(repo: Repositories, lang: str, settings: Settings) -> bytes:
    """Every live firm, every submission and every score, one sheet each."""
    t = translator(lang)
    wb = Workbook(write_only=True)
    estates, clusters = await _names(repo, "estates"), await _names(repo, "clusters")
    provinces = {p.id: p.name(lang) for p in await repo.provinces.all()}
    ws = _sheet(wb, t("Firms"), [t(h) for h in (
        N_("Firm number"), N_("Firm"), N_("National ID"), N_("Province"), N_("Estate"), N_("Cluster"),
        N_("Sector"), N_("Employees"), N_("Year founded"), N_("Phone"), N_("Named in public rankings"),
        N_("Registered on"))])
    yes, no = t("Yes"), t("No")
    async for f in repo.reports.rows(
        "SELECT id, name, national_id, province_id, estate_id, cluster_id, sector, employees,"
        " founded_year, phone, consent_public, created_at FROM firms WHERE deleted_at IS NULL ORDER BY id"
    ):
        ws.append([f["id"], f["name"], f["national_id"], provinces.get(f["province_id"], ""),
                   estates.get(f["estate_id"], ""), clusters.get(f["cluster_id"] or 0, ""),
                   _sector(t, f["sector"]), f["employees"], f["founded_year"], f["phone"],
                   yes if f["consent_public"] else no, _date(f["created_at"], lang, settings)])

    ws = _sheet(wb, t("Submissions"), [t(h) for h in (
        N_("Round"), N_("Firm number"), N_("Firm"), N_("Submission status"), N_("Started on"),
        N_("Submitted on"))])
    async for s in repo.reports.rows(
        "SELECT r.title, s.firm_id, f.name, s.status, s.started_at, s.submitted_at FROM submissions s"
        " JOIN rounds r ON r.id = s.round_id JOIN firms f ON f.id = s.firm_id"
        " WHERE f.deleted_at IS NULL ORDER BY s.round_id, s.firm_id"
    ):
        ws.append([s["title"], s["firm_id"], s["name"], t(STATUS.get(s["status"], STATUS[None])),
                   _date(s["started_at"], lang, settings), _date(s["submitted_at"], lang, settings)])

    dims = load_questionnaire(max(available_versions())).scored_dimensions
    ws = _sheet(wb, t("Scores"), [t("Round"), t("Firm number"), t("Firm"), t("Overall score"),
                                  *(d.title(lang) for d in dims), t("Rank in the estate"),
                                  t("Rank in the province"), t("National rank"), t("Percentile")])
    async for s in repo.reports.rows(
        "SELECT r.title, s.firm_id, CASE WHEN f.deleted_at IS NULL THEN f.name END AS name,"
        " s.composite, s.dimensions, s.rank_estate, s.rank_province, s.rank_nation, s.percentile"
        " FROM scores s JOIN rounds r ON r.id = s.round_id JOIN firms f ON f.id = s.firm_id"
        " ORDER BY s.round_id, s.rank_nation, s.firm_id"
    ):
        values = json.loads(s["dimensions"]) if s["dimensions"] else {}
        ws.append([s["title"], s["firm_id"], s["name"] or t("(deleted)"), _round2(s["composite"]),
                   *(_round2(values.get(d.id)) for d in dims), s["rank_estate"], s["rank_province"],
                   s["rank_nation"], _round2(s["percentile"])])
    return _save(wb)


def _sector(t: Translator, code: str) -> str:
    return t(SECTORS[code]) if code in SECTORS else code
