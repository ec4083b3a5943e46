"""The result summary a firm receives when a round's ranking is published.

``compose_summary`` writes the message (Telegram HTML: only ``<b>`` and ``<i>``) from one firm's
score row: composite and dimension scores, ranks in estate, cluster and province, the national
percentile, each dimension against the estate median (only when the caller passes the medians,
i.e. the estate group has at least five firms), the weakest questions with their advice, and a
congratulation for a consenting top-100 firm.  It is given this firm's row and the estate's
aggregate medians only, so no other firm's data can reach the text.  ``chart_labels`` returns
the translated texts ``bot.domain.charts.render_dimension_chart`` needs::

    text = compose_summary(t, lang, firm_name=..., round_title=..., score=row,
                           questionnaire=q, estate_medians=medians, consented_top100=False)
    png = render_dimension_chart(row.dimensions, medians, lang=lang, **chart_labels(t, lang, q))

Every number goes through ``bot.domain.text.number`` (Persian digits for Persian readers).  Texts are
English msgids translated by ``t``; translations are escaped for HTML before the (already
escaped) values are filled in, so neither a translation nor a firm's name can break the markup.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.domain.text import number

if TYPE_CHECKING:
    from bot.domain.questionnaire.model import Question, Questionnaire

#: Telegram's limit for a message text (in UTF-16 code units, after the markup is parsed).
MAX_MESSAGE = 4096
#: The longest firm name or round title shown (longer ones are cut with an ellipsis).
MAX_NAME = 120
#: The longest question prompt shown beside a weak point.
MAX_PROMPT = 110
#: How many weak points the summary lists at most.
MAX_WEAK = 3


@dataclass(frozen=True)
class PreviousResult:
    """The firm's published result in its previous round: what the summary compares with."""

    round_title: str
    composite: float
    dimensions: Mapping[str, float]


class ScoreRowLike(Protocol):
    """What the summary reads of a firm's row of ``scores`` (storage/repositories/scores.py)."""

    @property
    def dimensions(self) -> Mapping[str, float]: ...
    @property
    def composite(self) -> float: ...
    @property
    def weakest(self) -> Sequence[str]: ...
    @property
    def cluster_id(self) -> int | None: ...
    @property
    def rank_estate(self) -> int | None: ...
    @property
    def size_estate(self) -> int | None: ...
    @property
    def rank_cluster(self) -> int | None: ...
    @property
    def size_cluster(self) -> int | None: ...
    @property
    def rank_province(self) -> int | None: ...
    @property
    def size_province(self) -> int | None: ...
    @property
    def rank_nation(self) -> int | None: ...
    @property
    def size_nation(self) -> int | None: ...
    @property
    def percentile(self) -> float | None: ...


Translate = Callable[..., str]


# ---------------------------------------------------------------------------------------------
# HTML-safe translation


class _Html(str):
    """A string that is already valid Telegram HTML (escaped text and b/i tags)."""


def _escape(value: object) -> _Html:
    if isinstance(value, _Html):
        return value
    return _Html(html.escape(str(value), quote=False))


def _bold(value: object) -> _Html:
    return _Html(f"<b>{_escape(value)}</b>")


def _italic(value: object) -> _Html:
    return _Html(f"<i>{_escape(value)}</i>")


class _HtmlTranslator:
    """``t`` for HTML: escapes the translation, then fills in values, escaping those that are
    not ``_Html`` already."""

    __slots__ = ("_t",)

    def __init__(self, t: Translate) -> None:
        self._t = t

    def __call__(self, message: str, /, **params: object) -> _Html:
        template = html.escape(self._t(message), quote=False)  # no params: the bare translation
        if not params:
            return _Html(template)
        return _Html(template.format(**{k: _escape(v) for k, v in params.items()}))


# ---------------------------------------------------------------------------------------------
# Helpers


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:\u060c\u061b") + "…"  # and the Arabic comma and semicolon


_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_PLACEHOLDER = re.compile(r"\s*\{[^{}]*\}")
_QUESTION_MARK = re.compile("[?\u061f]")  # Latin or Arabic question mark


def short_prompt(question: Question, lang: str, limit: int = MAX_PROMPT) -> str:
    """The question's first sentence, without asides in parentheses, placeholders or typing
    instructions: "Does your business have its own website?"."""
    text = _PARENTHESES.sub("", question.text.get(lang))
    text = _PLACEHOLDER.sub("", text)
    end = _QUESTION_MARK.search(text)
    if end:
        text = text[: end.end()]
    return _shorten(text, limit)


#: Below this many scored firms a national percentage says little ("better than 86%" of 8 is one
#: firm either way): the rank is shown instead.
PERCENT_FROM = 20


def national_line(
    t: Translate, n: Callable[[float | int], str], score: ScoreRowLike,
    position: Callable[[int | None, int | None], str | None],
) -> list[str]:
    """The national line of the ranks: "the highest score among N firms" for the first,
    "better than P%" (rounded down, so never an overstatement) in a large enough field, else
    the rank itself ("8 of 8", never "better than 0%")."""
    rank, size = score.rank_nation, score.size_nation
    if rank == 1 and size is not None and size > 1:
        return ["• " + t("Nationally: the highest score among {size} firms", size=_bold(n(size)))]
    share = max(0, min(100, math.floor(score.percentile))) if score.percentile is not None else None
    if share is not None and share > 0 and (size is None or size >= PERCENT_FROM):
        return ["• " + t("Nationally: better than {percent}% of firms", percent=_bold(n(share)))]
    nation = position(rank, size)
    return ["• " + t("Nationally: {position}", position=nation)] if nation is not None else []


def _score(value: float) -> int:
    """Scores are shown, and compared, as whole numbers."""
    return round(value)


def _length(text: str) -> int:
    """Telegram's measure: UTF-16 code units (the markup makes this an upper bound)."""
    return len(text.encode("utf-16-le")) // 2


def _dimension_ids(score: ScoreRowLike, questionnaire: Questionnaire) -> list[str]:
    """The firm's dimensions in questionnaire order (any unknown ones last)."""
    known = [d.id for d in questionnaire.scored_dimensions if d.id in score.dimensions]
    return known + [d for d in score.dimensions if d not in known]


def _dimension_title(questionnaire: Questionnaire, did: str, lang: str) -> str:
    try:
        return questionnaire.dimension(did).title(lang)
    except KeyError:
        return did


# ---------------------------------------------------------------------------------------------
# The message


def compose_summary(
    t: Translate,
    lang: str,
    *,
    firm_name: str,
    round_title: str,
    score: ScoreRowLike,
    questionnaire: Questionnaire,
    estate_medians: Mapping[str, float] | None,
    consented_top100: bool,
    previous: PreviousResult | None = None,
) -> str:
    """The firm's result summary as Telegram HTML, in ``lang`` (``t`` translates into it).

    ``estate_medians`` maps dimension ids (and possibly "composite") to the estate's medians;
    None when the estate has fewer than five scored firms, which the message then explains.
    ``consented_top100``: the firm is in the national top 100 and agreed to appear in public
    rankings; it gets a congratulation. ``previous``: the firm's result in its previous published
    round, for a section on what changed since.
    """
    # Named ``t`` like everywhere else, so that message extraction (-k t) finds the msgids.
    t = _HtmlTranslator(t)

    def n(value: float | int) -> str:
        return number(value, lang)

    head: list[str] = [
        "📊 " + _bold(t("Your results: {round}", round=_shorten(round_title, MAX_NAME))),
        _italic(_shorten(firm_name, MAX_NAME)),
        "",
        t("Overall score: {score} out of 100", score=_bold(n(_score(score.composite)))),
    ]

    dims = _dimension_ids(score, questionnaire)
    scores: list[str] = [_bold(t("Scores by area (out of 100)"))]
    for did in dims:
        title = _dimension_title(questionnaire, did, lang)
        value = _score(score.dimensions[did])
        median = estate_medians.get(did) if estate_medians is not None else None
        if median is None:
            line = t("{dimension}: {score}", dimension=title, score=_bold(n(value)))
        else:
            middle = _score(median)
            if value > middle:
                comparison = t("above your estate's median of {median}", median=n(middle))
            elif value < middle:
                comparison = t("below your estate's median of {median}", median=n(middle))
            else:
                comparison = t("equal to your estate's median of {median}", median=n(middle))
            line = t("{dimension}: {score}, {comparison}", dimension=title, score=_bold(n(value)),
                     comparison=comparison)
        scores.append("• " + line)
    if estate_medians is None:
        scores.append(_italic(t(
            "Comparisons with your estate's median are shown only for estates with at least "
            "five responding firms.")))

    since: list[str] = []
    if previous is not None:
        since = [_bold(t("Since «{round}»", round=_shorten(previous.round_title, MAX_NAME)))]

        def change(now: int, before: int) -> str:
            if now > before:
                return t("{n} points up", n=n(now - before))
            if now < before:
                return t("{n} points down", n=n(before - now))
            return t("no change")

        pairs: list[tuple[str, float, float | None]] = [(t("Overall score"), score.composite, previous.composite)]
        pairs += [(_dimension_title(questionnaire, did, lang), score.dimensions[did], previous.dimensions.get(did))
                  for did in dims]
        for title, now_value, before_value in pairs:
            if before_value is None:
                continue
            now, before = _score(now_value), _score(before_value)
            since.append("• " + t("{dimension}: {now}, was {before} ({change})", dimension=title,
                                  now=_bold(n(now)), before=n(before), change=change(now, before)))
        if len(since) == 1:
            since = []

    ranks: list[str] = [_bold(t("Your rank"))]

    def position(rank: int | None, size: int | None) -> _Html | None:
        if rank is None or size is None:
            return None
        return _bold(t("{rank} of {size}", rank=n(rank), size=n(size)))

    estate = position(score.rank_estate, score.size_estate)
    if estate is not None:
        ranks.append("• " + t("In your estate: {position}", position=estate))
    cluster = position(score.rank_cluster, score.size_cluster) if score.cluster_id is not None else None
    if cluster is not None:
        ranks.append("• " + t("In your cluster: {position}", position=cluster))
    province = position(score.rank_province, score.size_province)
    if province is not None:
        ranks.append("• " + t("In your province: {position}", position=province))
    ranks.extend(national_line(t, n, score, position))
    if len(ranks) == 1:
        ranks = []

    weak_items: list[str] = []
    for qid in list(score.weakest)[:MAX_WEAK]:
        if not questionnaire.has_question(qid):
            continue
        question = questionnaire.question(qid)
        heading = question.topic.get(lang) if question.topic is not None else short_prompt(question, lang)
        item = f"{n(len(weak_items) + 1)}. " + _italic(heading)
        if question.advice is not None:
            advice = _PLACEHOLDER.sub("", question.advice.get(lang))
            item += "\n💡 " + _escape(advice)
        weak_items.append(item)

    closing: list[str] = []
    if consented_top100:
        closing.append("🏆 " + _bold(t(
            "Congratulations! Your firm is among the country's top 100 this round and appears "
            "in the published ranking (/ranking).")))

    def assemble(weak: list[str]) -> str:
        weak_section: list[str]
        if weak:
            weak_section = [_bold(t("Where to improve first")), *weak]
        elif not score.weakest:
            weak_section = [t("Well done: no weak points stood out this round.")]
        else:
            weak_section = []
        sections = [head, scores, since, ranks, weak_section, closing]
        return "\n\n".join("\n".join(s) for s in sections if s)

    text = assemble(weak_items)
    while _length(text) > MAX_MESSAGE and weak_items:  # only with absurdly long texts
        weak_items.pop()
        text = assemble(weak_items)
    return text


class ChartLabels(dict[str, Any]):
    """``chart_labels``'s result.  ``["dimensions"]`` reads ``["labels"]`` too, without being a
    key of its own, so that ``**chart_labels(...)`` still matches the chart's parameters."""

    def __missing__(self, key: str) -> Any:
        if key == "dimensions":
            return self["labels"]
        raise KeyError(key)


def chart_labels(t: Translate, lang: str, questionnaire: Questionnaire) -> ChartLabels:
    """The translated texts of the dimension chart, as keyword arguments of
    ``render_dimension_chart``: ``labels`` (dimension id → title, in questionnaire order),
    ``legend`` ({"firm", "median", "previous"}) and ``title`` (also fit as the photo's caption)::

        render_dimension_chart(row.dimensions, medians, lang=lang, **chart_labels(t, lang, q))
    """
    return ChartLabels(
        labels={d.id: d.title(lang) for d in questionnaire.scored_dimensions},
        legend={"firm": t("Your firm"), "median": t("Estate median"), "previous": t("Previous round")},
        title=t("Scores by area (out of 100)"),
    )
