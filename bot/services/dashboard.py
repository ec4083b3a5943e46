"""What an estate manager sees of an estate, and what an admin sees of the nation.

Figures come from the database as it is now: live firms, one round's submissions (the open or
latest round unless the reader chose another with the round buttons), the peer statistics of
that round or, while it is not scored yet, of the latest scored round before it (kept only for
groups of at least five firms, so no firm's scores can be inferred), and the problems reported
in submitted assessments.  Each figure names its round; while the chosen round has too few
submissions to show its pressure points and notes, the previous round's follow, under its own
title, so a round that has just opened never hides them.  Free-text notes are listed on their own, never next to a firm's name or scores,
and the problems and notes only once at least ``MIN_RESPONDENTS`` firms have submitted: with
fewer, the list of firms that have not answered tells whose they are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape as esc
from typing import Any

from bot.delivery.keys import nudge_key, nudge_prefix
from bot.domain import callbacks as cb
from bot.domain.calendar import format_long_date
from bot.domain.questionnaire import load_questionnaire
from bot.domain.questionnaire.model import Questionnaire
from bot.domain.ranking import MIN_GROUP
from bot.domain.text import number, persian_sort_key
from bot.i18n import Translator, translator
from bot.settings import Settings
from storage.models import Estate, Round
from storage.repositories import Repositories
from storage.repositories.reports import FirmStatus
from storage.repositories.scores import PeerStat, TopEntry

#: Telegram's limit is 4096 characters; leave room for HTML entities and a footer.
MESSAGE_LIMIT = 3800
#: How many names of firms that have not answered, and how many notes, a message lists.
MAX_NAMES = 60
MAX_NOTES = 25
NUDGE_KIND = "nudge"
#: The fewest submitted assessments whose problems and notes are shown (the same floor as the
#: peer statistics): in an estate of two firms, the one note is the one firm's that answered.
MIN_RESPONDENTS = MIN_GROUP
#: How many rounds the round buttons of the dashboard and the export offer (newest first).
ROUND_CHOICES = 4


@dataclass
class ProblemTally:
    """The problem questions of a round, counted over its submitted assessments."""

    respondents: int = 0
    #: (question id, option id) -> count, for multiple- and single-choice problem questions.
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Some firms submitted, but fewer than ``MIN_RESPONDENTS``: nothing of theirs was read.
    withheld: bool = False


    @property
    def shown(self) -> bool:
        """Whether the tally has something to show (submissions, and enough of them)."""
        return self.respondents > 0 and not self.withheld


@dataclass(frozen=True)
class RoundTally:
    """A round's pressure points, told apart from another round's."""

    round: Round
    tally: ProblemTally


@dataclass(frozen=True)
class RoundChoice:
    """The round a view shows, and the rounds that have opened (the default first)."""

    round: Round | None
    opened: list[Round]

    @property
    def offered(self) -> list[Round]:
        """The rounds to offer buttons for: the last few, and the shown one if it is older."""
        offered = self.opened[:ROUND_CHOICES]
        if self.round is not None and self.round not in offered:
            offered = [*offered[: ROUND_CHOICES - 1], self.round]
        return offered if len(self.opened) > 1 else []

    @property
    def previous(self) -> Round | None:
        """The round before the shown one."""
        if self.round is None:
            return None
        at = self.opened.index(self.round)
        return self.opened[at + 1] if at + 1 < len(self.opened) else None

    @property
    def scored(self) -> Round | None:
        """The shown round if it is scored, else the latest scored round before it."""
        if self.round is None:
            return None
        return next((r for r in self.opened[self.opened.index(self.round):] if r.scored_at is not None), None)

    @property
    def is_default(self) -> bool:
        return not self.opened or self.round == self.opened[0]


async def choose_round(repo: Repositories, round_id: int | None) -> RoundChoice | None:
    """The round ``round_id`` (None: the open or latest one); None if no round with that id has
    opened (a forged or stale button)."""
    opened = await repo.reports.opened_rounds()
    if round_id is None:
        return RoundChoice(opened[0] if opened else None, opened)
    chosen = next((r for r in opened if r.id == round_id), None)
    return RoundChoice(chosen, opened) if chosen is not None else None


async def pressure_points(repo: Repositories, choice: RoundChoice, estate_id: int | None) -> list[RoundTally]:
    """The shown round's tally and, while it shows nothing (nobody or too few have submitted),
    the previous round's, when that one has something to show."""
    if choice.round is None:
        return []
    tallies = [RoundTally(choice.round, await tally_problems(repo, choice.round, estate_id))]
    previous = choice.previous
    if not tallies[0].tally.shown and previous is not None:
        earlier = await tally_problems(repo, previous, estate_id)
        if earlier.shown:
            tallies.append(RoundTally(previous, earlier))
    return tallies


@dataclass
class EstateView:
    estate: Estate
    firms: list[FirmStatus]
    round: Round | None
    completion: dict[str, int]
    scored_round: Round | None
    estate_stats: dict[str, PeerStat]
    nation_stats: dict[str, PeerStat]
    scored_firms: int
    problems: ProblemTally
    questionnaire: Questionnaire | None
    #: The previous round's pressure points, shown while this round's show nothing.
    earlier: RoundTally | None = None
    choice: RoundChoice | None = None

    @property
    def not_answered(self) -> list[FirmStatus]:
        return [f for f in self.firms if f.status != "submitted"]


@dataclass(frozen=True)
class EstateLine:
    """One estate's row of a manager's overview of all their estates."""

    estate: Estate
    firms: int
    completion: dict[str, int]


@dataclass(frozen=True)
class Overview:
    """Every estate of a manager side by side, in the open (or latest) round."""

    round: Round | None
    lines: list[EstateLine]
    choice: RoundChoice | None = None


async def estates_overview(repo: Repositories, estate_ids: Sequence[int], choice: RoundChoice | None = None) -> Overview:
    choice = choice or await choose_round(repo, None)
    assert choice is not None
    round_ = choice.round
    lines = []
    for estate_id in estate_ids:
        estate = await repo.estates.get(estate_id)
        if estate is None:
            continue
        completion = await repo.reports.completion(round_.id, estate_id) if round_ else {}
        lines.append(EstateLine(estate, sum(completion.values()) if round_ else
                                len(await repo.reports.firm_statuses(None, estate_id)), completion))
    lines.sort(key=lambda line: persian_sort_key(line.estate.name))
    return Overview(round_, lines, choice)


def render_overview(overview: Overview, lang: str, settings: Settings) -> list[str]:
    """The overview as HTML messages: a line per estate, then the totals."""
    t = translator(lang)
    head = t("🏘 <b>All my estates ({n})</b>", n=number(len(overview.lines), lang))
    if overview.round is None:
        rows = [t("• {estate}: {n} firms", estate=esc(x.estate.name), n=number(x.firms, lang)) for x in overview.lines]
        return chunks([head, "\n".join([t("No round has opened yet."), *rows])])
    state = t("open until {date}", date=format_long_date(overview.round.closes_at, lang, settings.zone)) \
        if overview.round.state == "open" else t("closed")
    head += "\n" + t("<b>Round «{title}»</b> ({state})", title=esc(overview.round.title), state=state)
    rows = []
    for x in overview.lines:
        submitted = x.completion.get("submitted", 0)
        rows.append(t("• {estate}: {submitted} of {firms} submitted ({share}%), {drafts} in progress, "
                      "{idle} not started", estate=esc(x.estate.name), submitted=number(submitted, lang),
                      firms=number(x.firms, lang), share=number(share(submitted, x.firms), lang),
                      drafts=number(x.completion.get("draft", 0), lang),
                      idle=number(x.completion.get("not_started", 0), lang)))
    firms = sum(x.firms for x in overview.lines)
    submitted = sum(x.completion.get("submitted", 0) for x in overview.lines)
    total = t("Together: {submitted} of {firms} firms submitted ({share}%).", submitted=number(submitted, lang),
              firms=number(firms, lang), share=number(share(submitted, firms), lang))
    return chunks([head, "\n".join(rows), total])


def render_my_estates(overview: Overview, lang: str, settings: Settings) -> list[str]:
    """/myestates: each estate with its number, its firms and their completion in the round."""
    t = translator(lang)
    head = t("<b>Your estates</b>")
    if overview.round is None:
        rows = [t("#{id} «{name}»: {n} firms", id=number(x.estate.id, lang), name=esc(x.estate.name),
                  n=number(x.firms, lang)) for x in overview.lines]
        return chunks([head, "\n".join([t("No round has opened yet."), *rows])])
    state = t("open until {date}", date=format_long_date(overview.round.closes_at, lang, settings.zone)) \
        if overview.round.state == "open" else t("closed")
    head += "\n" + t("<b>Round «{title}»</b> ({state})", title=esc(overview.round.title), state=state)
    rows = []
    for x in overview.lines:
        submitted = x.completion.get("submitted", 0)
        rows.append(t("#{id} «{name}»: {submitted} of {firms} firms submitted ({share}%), {drafts} in progress",
                      id=number(x.estate.id, lang), name=esc(x.estate.name), submitted=number(submitted, lang),
                      firms=number(x.firms, lang), share=number(share(submitted, x.firms), lang),
                      drafts=number(x.completion.get("draft", 0), lang)))
    return chunks([head, "\n".join(rows)])


def problem_questions(questionnaire: Questionnaire) -> list[Any]:
    return [q for q in questionnaire.questions if not q.is_scored]


async def tally_problems(repo: Repositories, round_: Round, estate_id: int | None) -> ProblemTally:
    questionnaire = load_questionnaire(round_.questionnaire_version)
    questions = problem_questions(questionnaire)
    tally = ProblemTally(respondents=await repo.reports.submitted_count(round_.id, estate_id))
    if 0 < tally.respondents < MIN_RESPONDENTS:
        tally.withheld = True
        return tally
    by_id = {q.id: q for q in questions}
    for qid, value in await repo.reports.submitted_answers(round_.id, list(by_id), estate_id):
        question = by_id[qid]
        if question.type == "text":
            if isinstance(value, str) and value.strip():
                tally.notes.append(value.strip())
        elif isinstance(value, list):
            tally.counts.setdefault(qid, Counter()).update(str(v) for v in value)
        elif value is not None:
            tally.counts.setdefault(qid, Counter())[str(value)] += 1
    tally.notes.sort()
    return tally


async def estate_view(repo: Repositories, estate_id: int, choice: RoundChoice | None = None) -> EstateView | None:
    """The estate in the chosen round (by default the open or latest one)."""
    estate = await repo.estates.get(estate_id)
    if estate is None:
        return None
    choice = choice or await choose_round(repo, None)
    assert choice is not None
    round_, scored = choice.round, choice.scored
    firms = await repo.reports.firm_statuses(round_.id if round_ else None, estate_id)
    completion = await repo.reports.completion(round_.id, estate_id) if round_ else {}
    tallies = await pressure_points(repo, choice, estate_id)
    problems = tallies[0].tally if tallies else ProblemTally()
    estate_stats = await repo.scores.peers_for(scored.id, "estate", estate_id) if scored else {}
    nation_stats = await repo.scores.peers_for(scored.id, "nation", 0) if scored else {}
    scored_firms = 0
    if scored is not None:
        scored_firms = len(await repo.reports.estate_scores(scored.id, estate_id))
    return EstateView(
        estate=estate, firms=firms, round=round_, completion=completion, scored_round=scored,
        estate_stats=estate_stats, nation_stats=nation_stats, scored_firms=scored_firms,
        problems=problems,
        questionnaire=load_questionnaire(round_.questionnaire_version) if round_ else None,
        earlier=tallies[1] if len(tallies) > 1 else None, choice=choice,
    )


def share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def option_label(questionnaire: Questionnaire, qid: str, oid: str, lang: str) -> str:
    question = questionnaire.question(qid)
    try:
        return question.option(oid).label(lang)
    except KeyError:
        return oid


def capped(items: list[str], limit: int, t: Translator, lang: str) -> list[str]:
    """Up to ``limit`` items, then "… and N more"."""
    if len(items) <= limit:
        return items
    return [*items[:limit], t("… and {n} more", n=number(len(items) - limit, lang))]


def chunks(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Joins blocks (paragraphs) into messages of at most ``limit`` characters; a block longer
    than the limit is split between its lines."""
    pieces: list[str] = []
    for block in blocks:
        if len(block) <= limit:
            pieces.append(block)
            continue
        current = ""
        for line in block.split("\n"):
            line = line[:limit]
            if current and len(current) + 1 + len(line) > limit:
                pieces.append(current)
                current = line
            else:
                current = f"{current}\n{line}" if current else line
        if current:
            pieces.append(current)
    messages: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + 2 + len(piece) > limit:
            messages.append(current)
            current = piece
        else:
            current = f"{current}\n\n{piece}" if current else piece
    if current:
        messages.append(current)
    return messages


def dimension_lines(
    questionnaire: Questionnaire, mine: dict[str, PeerStat], nation: dict[str, PeerStat],
    t: Translator, lang: str,
) -> list[str]:
    lines = []
    for d in questionnaire.scored_dimensions:
        if d.id not in mine:
            continue
        national = nation.get(d.id)
        lines.append(t("{dimension}: {mine} (national {nation})", dimension=d.title(lang),
                       mine=number(mine[d.id].mean, lang, decimals=1),
                       nation=number(national.mean, lang, decimals=1) if national else "–"))
    if "composite" in mine:
        national = nation.get("composite")
        lines.append(t("Overall: {mine} (national {nation})",
                       mine=number(mine["composite"].mean, lang, decimals=1),
                       nation=number(national.mean, lang, decimals=1) if national else "–"))
    return lines


def problem_lines(tally: ProblemTally, questionnaire: Questionnaire, t: Translator, lang: str) -> list[str]:
    """The tally as text: for each choice question its options by count with shares."""
    lines: list[str] = []
    for q in problem_questions(questionnaire):
        counts = tally.counts.get(q.id)
        if not counts:
            continue
        heading = t("Problems reported:") if q.type == "multi" else t("The biggest obstacle:")
        lines.append(f"<b>{heading}</b>")
        for oid, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            lines.append(t("• {label}: {n} ({share}%)", label=option_label(questionnaire, q.id, oid, lang),
                           n=number(n, lang), share=number(share(n, tally.respondents), lang)))
    return lines


def withheld_line(tally: ProblemTally, t: Translator, lang: str) -> str:
    """Why a group's pressure points and notes are not shown."""
    return t("Pressure points and notes are shown once at least {min} firms have submitted, so that no "
             "firm's answers can be told apart; {n} have so far.",
             min=number(MIN_RESPONDENTS, lang), n=number(tally.respondents, lang))


def earlier_blocks(earlier: RoundTally, t: Translator, lang: str) -> list[str]:
    """The previous round's pressure points and notes, under that round's title."""
    tally = earlier.tally
    questionnaire = load_questionnaire(earlier.round.questionnaire_version)
    blocks = ["\n".join([
        t("<b>Pressure points of the previous round «{title}»</b>, in {n} submitted assessments:",
          title=esc(earlier.round.title), n=number(tally.respondents, lang)),
        *problem_lines(tally, questionnaire, t, lang)])]
    if tally.notes:
        notes = capped([f"• {esc(n)}" for n in tally.notes], MAX_NOTES, t, lang)
        blocks.append("\n".join([
            "<b>" + t("Notes from firms in «{title}» (anonymous):", title=esc(earlier.round.title)) + "</b>", *notes]))
    return blocks


def round_label(r: Round, shown: Round | None, t: Translator) -> str:
    """A round button: its title, marked when open, ticked when it is the one shown."""
    label = t("{title} (open)", title=r.title) if r.state == "open" else r.title
    return ("✓ " + label) if shown is not None and r.id == shown.id else label


def render_estate(view: EstateView, lang: str, settings: Settings) -> list[str]:
    """The dashboard as one or more HTML messages, each under Telegram's limit."""
    t = translator(lang)
    blocks = [t("📊 <b>Dashboard: {estate}</b>", estate=esc(view.estate.name))
              + "\n" + t("Firms registered: {n}", n=number(len(view.firms), lang))]
    if view.round is None:
        blocks.append(t("No round has opened yet."))
        return chunks(blocks)
    c = view.completion
    state = t("open until {date}", date=format_long_date(view.round.closes_at, lang, settings.zone)) \
        if view.round.state == "open" else t("closed")
    blocks.append("\n".join([
        t("<b>Round «{title}»</b> ({state})", title=esc(view.round.title), state=state),
        t("Submitted: {n} ({share}%)", n=number(c.get("submitted", 0), lang),
          share=number(share(c.get("submitted", 0), len(view.firms)), lang)),
        t("In progress: {n}", n=number(c.get("draft", 0), lang)),
        t("Not started: {n}", n=number(c.get("not_started", 0), lang)),
    ]))
    if view.scored_round is not None:
        title = t("<b>Average scores, «{title}»</b>", title=esc(view.scored_round.title))
        questionnaire = load_questionnaire(view.scored_round.questionnaire_version)
        if view.estate_stats:
            lines = dimension_lines(questionnaire, view.estate_stats, view.nation_stats, t, lang)
            blocks.append("\n".join([title, *lines]))
        else:
            blocks.append(title + "\n" + t(
                "Averages are shown only for estates with at least 5 scored firms; this estate has {n}.",
                n=number(view.scored_firms, lang)))
    assert view.questionnaire is not None
    problems = problem_lines(view.problems, view.questionnaire, t, lang)
    if view.problems.withheld:
        blocks.append(withheld_line(view.problems, t, lang))
    elif problems:
        blocks.append("\n".join([
            t("Pressure points in {n} submitted assessments:", n=number(view.problems.respondents, lang)),
            *problems,
        ]))
    else:
        blocks.append(t("No pressure points have been reported in this round yet."))
    if view.problems.notes:
        notes = capped([f"• {esc(n)}" for n in view.problems.notes], MAX_NOTES, t, lang)
        blocks.append("\n".join([f"<b>{t('Notes from firms (anonymous):')}</b>", *notes]))
    if view.earlier is not None:
        blocks += earlier_blocks(view.earlier, t, lang)
    missing = view.not_answered
    if missing:
        names = capped([f"• {esc(f.name)}" for f in missing], MAX_NAMES, t, lang)
        blocks.append("\n".join([
            "<b>" + t("Not answered yet ({n}):", n=number(len(missing), lang)) + "</b>", *names]))
    elif view.firms:
        blocks.append(t("Every firm has answered. 🎉"))
    return chunks(blocks)


# --- nudges --------------------------------------------------------------------------------------

def nudge_payload(r: Round, lang: str, settings: Settings) -> dict[str, object]:
    t = translator(lang)
    text = t("⏰ A reminder from your estate's management: the self-assessment «{title}» is open until {date}. "
             "It takes about five minutes.",
             title=esc(r.title), date=format_long_date(r.closes_at, lang, settings.zone))
    return {"type": "text", "text": text,
            "buttons": [[{"text": t("📋 Continue the assessment"), "data": cb.ASSESS.build()}]]}


@dataclass
class NudgeResult:
    round: Round | None
    already: bool = False
    queued: int = 0


async def nudge_estate(repo: Repositories, estate_id: int, now: datetime, settings: Settings,
                       not_before: datetime) -> NudgeResult:
    """Queues one reminder to each firm of the estate that has not submitted the open round;
    at most once per estate per Tehran day (the outbox keys carry the estate and the date)."""
    current = await repo.rounds.open_round()
    if current is None:
        return NudgeResult(None)
    day = now.astimezone(settings.zone).date().isoformat()
    prefix = nudge_prefix(estate_id, day)
    if await repo.outbox.count_with_key_prefix(prefix):
        return NudgeResult(current, already=True)
    queued = 0
    for who in await repo.reports.not_submitted_in_estate(current.id, estate_id):
        if who.muted:
            continue
        queued += await repo.outbox.add(
            kind=NUDGE_KIND, dedupe_key=nudge_key(estate_id, day, who.firm_id), chat_id=who.owner_id,
            payload=nudge_payload(current, who.language, settings), not_before=not_before,
        )
    return NudgeResult(current, queued=queued)


# --- national -----------------------------------------------------------------------------------

def top_label(entry: TopEntry, estates: dict[int, str], t: Translator) -> str:
    if entry.name:
        return esc(entry.name)
    return t("a firm in {estate}", estate=esc(estates.get(entry.estate_id, "?")))

