"""The result summary: contents in both languages, markup, length, and the chart's labels."""

from __future__ import annotations

import inspect
import re
import string
from dataclasses import dataclass, field, replace

import pytest

from bot.domain.charts import render_dimension_chart
from bot.domain.questionnaire.loader import load_questionnaire
from bot.domain.summary import MAX_MESSAGE, PreviousResult, chart_labels, compose_summary, short_prompt
from bot.emulator.strict import check_text
from bot.i18n import translations

#: The Persian translations of the summary's messages (also handed over as fa_summary.tsv for
#: the catalogs).  Until they are merged, the tests fall back on them for messages the catalog
#: does not have yet; once merged, the catalog's own translation is used.
FA = {
    "Your results: {round}": "نتایج شما در {round}",
    "Overall score: {score} out of 100": "امتیاز کل: {score} از ۱۰۰",
    "Scores by area (out of 100)": "امتیاز در هر حوزه (از ۱۰۰)",
    "{dimension}: {score}": "{dimension}: {score}",
    "{dimension}: {score}, {comparison}": "{dimension}: {score}، {comparison}",
    "above your estate's median of {median}": "بالاتر از میانه شهرک شما ({median})",
    "below your estate's median of {median}": "پایین‌تر از میانه شهرک شما ({median})",
    "equal to your estate's median of {median}": "برابر با میانه شهرک شما ({median})",
    "Comparisons with your estate's median are shown only for estates with at least five "
    "responding firms.":
        "مقایسه با میانه شهرک فقط برای شهرک‌هایی نشان داده می‌شود که دست‌کم پنج بنگاه در آن‌ها "
        "پاسخ داده باشند.",
    "Your rank": "رتبه شما",
    "{rank} of {size}": "{rank} از {size}",
    "In your estate: {position}": "در شهرک: {position}",
    "In your cluster: {position}": "در خوشه: {position}",
    "In your province: {position}": "در استان: {position}",
    "Nationally: better than {percent}% of firms": "در کشور: بهتر از {percent}٪ بنگاه‌ها",
    "Nationally: {position}": "در کشور: {position}",
    "Since «{round}»": "نسبت به «{round}»",
    "no change": "بدون تغییر",
    "{dimension}: {now}, was {before} ({change})": "{dimension}: {now}، در دوره قبل {before} ({change})",
    "{n} points down": "{n} امتیاز کمتر",
    "{n} points up": "{n} امتیاز بیشتر",
    "Overall score": "امتیاز کل",
    "Nationally: the highest score among {size} firms": "در کشور: بالاترین امتیاز در میان {size} بنگاه",
    "Where to improve first": "اولویت‌های بهبود",
    "Well done: no weak points stood out this round.":
        "دست‌مریزاد! در این دوره نقطه ضعف چشمگیری دیده نشد.",
    "Congratulations! Your firm is among the country's top 100 this round and appears in the "
    "published ranking (/ranking).":
        "تبریک! بنگاه شما در این دوره جزو ۱۰۰ بنگاه برتر کشور است و نامش در رتبه‌بندی "
        "منتشرشده آمده است (/ranking).",
    "Your firm": "بنگاه شما",
    "Estate median": "میانه شهرک",
    "Previous round": "دوره قبل",
}


class StandIn:
    """The real translator, falling back on ``FA`` for messages not yet in the catalog; records
    the messages it was asked for."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.used: set[str] = set()

    def __call__(self, message: str, /, **params: object) -> str:
        self.used.add(message)
        text = translations(self.lang).gettext(message)
        if text == message and self.lang == "fa":
            text = FA.get(message, message)
        return text.format(**params) if params else text


@dataclass(frozen=True)
class Row:
    """A row of ``scores`` as storage/repositories/scores.py returns it."""

    round_id: int = 1
    firm_id: int = 10
    estate_id: int = 3
    cluster_id: int | None = 7
    province_id: int = 2
    dimensions: dict[str, float] = field(default_factory=lambda: {
        "tech": 80.4, "quality": 61.6, "export": 20.0, "innovation": 55.0})
    composite: float = 71.8
    weakest: list[str] = field(default_factory=lambda: ["E4", "T1", "Q1"])
    rank_estate: int | None = 3
    size_estate: int | None = 42
    rank_cluster: int | None = 2
    size_cluster: int | None = 9
    rank_province: int | None = 15
    size_province: int | None = 310
    rank_nation: int | None = 1200
    size_nation: int | None = 8000
    percentile: float | None = 85.4


MEDIANS = {"tech": 62.0, "quality": 70.0, "export": 20.2, "innovation": 40.0, "composite": 55.0}
Q = load_questionnaire(1)


PREVIOUS = PreviousResult(round_title="Summer 1405", composite=71.6,
                          dimensions={"tech": 73.0, "quality": 61.9, "export": 35.2})


def summary(lang: str = "en", *, row: Row | None = None, medians: dict[str, float] | None = MEDIANS,
            top: bool = False, name: str = "Sepahan Dates Co.", title: str = "Autumn 1405",
            t: StandIn | None = None, previous: PreviousResult | None = None) -> str:
    return compose_summary(
        t or StandIn(lang), lang, firm_name=name, round_title=title, score=row or Row(),
        questionnaire=Q, estate_medians=medians, consented_top100=top, previous=previous,
    )


def plain(text: str) -> str:
    return check_text(text, "HTML")[0]


# --- English ---------------------------------------------------------------------------------


def test_english_summary_has_scores_ranks_and_comparisons() -> None:
    text = plain(summary("en"))
    assert "Your results: Autumn 1405" in text
    assert "Sepahan Dates Co." in text
    assert "Overall score: 72 out of 100" in text
    assert "Technology adoption: 80, above your estate's median of 62" in text
    assert "Standards and quality: 62, below your estate's median of 70" in text
    assert "Export orientation: 20, equal to your estate's median of 20" in text
    assert "Innovation and competitiveness: 55, above your estate's median of 40" in text
    assert "In your estate: 3 of 42" in text
    assert "In your cluster: 2 of 9" in text
    assert "In your province: 15 of 310" in text
    assert "Nationally: better than 85% of firms" in text
    assert "five responding firms" not in text
    assert "Congratulations" not in text


def test_english_summary_lists_the_weakest_topics_with_advice() -> None:
    text = plain(summary("en"))
    assert "Where to improve first" in text
    for i, topic in enumerate(["Export plan and specialist", "Own website", "International quality certificate"], 1):
        assert f"{i}. {topic}\n" in text
    for qid in ("E4", "T1", "Q1"):
        question = Q.question(qid)
        assert question.advice is not None and question.advice.en in text
    assert "one-page export plan" in text
    assert "ISO 9001" in text
    assert text.index("export plan") < text.index("simple website") < text.index("ISO 9001")


# --- Persian ---------------------------------------------------------------------------------


def test_persian_summary_uses_persian_digits_and_texts() -> None:
    text = plain(summary("fa", title="پاییز ۱۴۰۵", name="خرمای سپاهان"))
    assert "نتایج شما در پاییز ۱۴۰۵" in text
    assert "خرمای سپاهان" in text
    assert "امتیاز کل: ۷۲ از ۱۰۰" in text
    assert "در شهرک: ۳ از ۴۲" in text
    assert "در خوشه: ۲ از ۹" in text
    assert "در استان: ۱۵ از ۳۱۰" in text
    assert "بهتر از ۸۵٪ بنگاه‌ها" in text
    assert "فناوری: ۸۰، بالاتر از میانه شهرک شما (۶۲)" in text
    assert "استاندارد و کیفیت: ۶۲، پایین‌تر از میانه شهرک شما (۷۰)" in text
    assert "صادرات: ۲۰، برابر با میانه شهرک شما (۲۰)" in text
    assert "نوآوری و رقابت‌پذیری: ۵۵" in text
    for qid in ("E4", "T1", "Q1"):
        question = Q.question(qid)
        assert question.advice is not None and question.advice.fa in text
    assert "۱. برنامه و کارشناس صادرات" in text and "۳. گواهی‌نامه کیفیت بین‌المللی" in text
    assert "۱. " in text and "۳. " in text
    # Latin digits only where a question's own text has them (ISO 9001).
    assert re.findall(r"[0-9]+", text) == ["9001"]


def test_persian_summary_translates_every_message() -> None:
    t = StandIn("fa")
    text = plain(summary("fa", t=t, top=True, name="خرمای سپاهان", title="پاییز ۱۴۰۵",
                         previous=PreviousResult(round_title="تابستان ۱۴۰۵", composite=60.0,
                                                 dimensions={"tech": 80.0, "export": 35.0})))
    summary("fa", t=t, medians=None, row=Row(percentile=None, weakest=[]))
    summary("fa", t=t, row=Row(dimensions={"tech": 50.0, "quality": 50.0, "export": 50.0,
                                           "innovation": 50.0}))
    chart_labels(t, "fa", Q)
    assert t.used - set(FA) == set()
    # Latin letters only in a code and a command: ISO 9001, /ranking.
    assert not re.search("[A-Za-z]", text.replace("ISO 9001", "").replace("/ranking", ""))


def test_the_persian_translations_keep_placeholders_and_persian_spelling() -> None:
    for msgid, fa in FA.items():
        names = {n for _, n, _, _ in string.Formatter().parse(msgid) if n is not None}
        assert {n for _, n, _, _ in string.Formatter().parse(fa) if n is not None} == names, msgid
        assert not re.search("[0-9]", re.sub(r"\{[^{}]*\}", "", fa)), fa
        assert not re.search("[يك]", fa), fa


# --- what is shown when --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_congratulation_only_for_a_consenting_top_firm(lang: str) -> None:
    marker = "Congratulations!" if lang == "en" else "تبریک!"
    assert marker in plain(summary(lang, top=True))
    assert marker not in plain(summary(lang, top=False))


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_small_estates_get_an_explanation_instead_of_medians(lang: str) -> None:
    text = plain(summary(lang, medians=None))
    line = {"en": "shown only for estates with at least five responding firms",
            "fa": "دست‌کم پنج بنگاه"}[lang]
    assert line in text
    assert "median of" not in text and "میانه شهرک شما" not in text
    assert ("Technology adoption: 80" if lang == "en" else "فناوری: ۸۰") in text


def test_a_firm_outside_any_cluster_has_no_cluster_rank() -> None:
    text = plain(summary("en", row=Row(cluster_id=None, rank_cluster=None, size_cluster=None)))
    assert "cluster" not in text
    assert "In your estate: 3 of 42" in text


def test_without_a_percentile_the_national_rank_is_shown() -> None:
    text = plain(summary("en", row=Row(percentile=None)))
    assert "Nationally: 1,200 of 8,000" in text
    assert "better than" not in text


def test_the_change_since_the_previous_round_is_shown_per_area() -> None:
    text = plain(summary("en", previous=PREVIOUS))
    assert "Since «Summer 1405»" in text
    assert "Overall score: 72, was 72 (no change)" in text
    assert "Technology adoption: 80, was 73 (7 points up)" in text
    assert "Export orientation: 20, was 35 (15 points down)" in text
    assert "Innovation and competitiveness: 55, was" not in text  # not scored last time


def test_the_change_since_the_previous_round_reads_in_persian() -> None:
    text = plain(summary("fa", previous=PREVIOUS))
    assert "نسبت به «Summer 1405»" in text
    assert "صادرات: ۲۰، در دوره قبل ۳۵ (۱۵ امتیاز کمتر)" in text
    assert "فناوری: ۸۰، در دوره قبل ۷۳ (۷ امتیاز بیشتر)" in text


def test_a_first_round_has_no_comparison_with_an_earlier_one() -> None:
    assert "Since «" not in plain(summary("en"))


def test_percentile_is_never_rounded_up() -> None:
    assert "better than 99% of firms" in plain(summary("en", row=Row(percentile=99.7)))


def test_the_first_firm_hears_it_has_the_highest_score_not_a_percentage() -> None:
    text = plain(summary("en", row=Row(rank_nation=1, percentile=100.0)))
    assert "Nationally: the highest score among 8,000 firms" in text
    assert "better than" not in text


def test_in_a_small_field_the_national_rank_is_shown_not_a_percentage() -> None:
    text = plain(summary("en", row=Row(rank_nation=3, size_nation=8, percentile=71.4)))
    assert "Nationally: 3 of 8" in text
    assert "better than" not in text


def test_the_last_firm_is_never_told_it_is_better_than_none() -> None:
    text = plain(summary("en", row=Row(rank_nation=200, size_nation=200, percentile=0.0)))
    assert "Nationally: 200 of 200" in text
    assert "better than" not in text


def test_a_perfect_firm_has_nothing_to_improve() -> None:
    row = Row(weakest=[], dimensions={d: 100.0 for d in Row().dimensions}, composite=100.0)
    text = plain(summary("en", row=row))
    assert "Where to improve first" not in text
    assert "no weak points" in text


def test_unknown_weak_questions_are_skipped() -> None:
    text = plain(summary("en", row=Row(weakest=["X9", "T1"])))
    assert "1. Own website" in text
    assert "2. " not in text


# --- markup, length, privacy ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fa", "en"])
@pytest.mark.parametrize("medians", [MEDIANS, None])
@pytest.mark.parametrize("top", [True, False])
def test_html_is_well_formed_and_short(lang: str, medians: dict[str, float] | None, top: bool) -> None:
    text = summary(lang, medians=medians, top=top, name="<Acme & Sons> \"Best\"", title="Q3 <b>")
    check_text(text, "HTML")  # balanced, known tags, entities escaped, within 4096
    assert set(re.findall(r"</?([a-zA-Z-]+)", text)) <= {"b", "i"}
    assert "&lt;Acme &amp; Sons&gt;" in text
    assert "Q3 &lt;b&gt;" in text
    assert len(text) < MAX_MESSAGE


def test_very_long_names_are_cut() -> None:
    text = summary("fa", name="ب" * 5000, title="پ" * 5000, top=True)
    assert len(text) < MAX_MESSAGE
    assert len(plain(text)) < 1500
    assert "…" in text


def test_only_this_firms_row_is_taken() -> None:
    """The function has no way to receive another firm's scores: one row, the same firm's own
    previous result and aggregate medians."""
    parameters = list(inspect.signature(compose_summary).parameters)
    assert parameters == ["t", "lang", "firm_name", "round_title", "score", "questionnaire",
                          "estate_medians", "consented_top100", "previous"]
    other = Row(firm_id=11, dimensions={"tech": 13.0, "quality": 17.0, "export": 19.0,
                                        "innovation": 23.0}, composite=29.0)
    mine = summary("en")
    assert mine == summary("en", row=replace(Row()))
    for value in other.dimensions.values():
        assert f": {int(value)}" not in mine
    assert "29" not in mine


def test_short_prompt_drops_asides_and_placeholders() -> None:
    e1 = short_prompt(Q.question("E1"), "en")
    assert e1 == "How were your sales in the last fiscal year split?"
    assert short_prompt(Q.question("E1"), "fa") == "فروش سال مالی گذشته چگونه تقسیم شده است؟"
    assert short_prompt(Q.question("T8"), "en") == (
        "Roughly what percentage of your production work is done by CNC or automated machines?")
    assert short_prompt(Q.question("T1"), "en") == "Does your business have its own website?"
    assert len(short_prompt(Q.question("T2"), "en", limit=40)) <= 40


def test_every_scored_question_has_advice_in_both_languages() -> None:
    for question in Q.questions:
        if question.is_scored:
            assert question.advice is not None, question.id
            assert question.advice.fa and question.advice.en
            assert re.search("[\u0600-\u06ff]", question.advice.fa), question.id
        else:
            assert question.advice is None, question.id


# --- the chart's labels -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_chart_labels_feed_the_chart(lang: str) -> None:
    labels = chart_labels(StandIn(lang), lang, Q)
    assert list(labels["labels"]) == ["tech", "quality", "export", "innovation"]
    assert labels["labels"]["tech"] == Q.dimension("tech").title(lang)
    assert set(labels["legend"]) == {"firm", "median", "previous"}
    if lang == "fa":
        assert labels["legend"] == {"firm": "بنگاه شما", "median": "میانه شهرک", "previous": "دوره قبل"}
    png = render_dimension_chart(Row().dimensions, MEDIANS, lang=lang, **labels)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert set(labels) == {"labels", "legend", "title"}
    assert labels["dimensions"] is labels["labels"]  # an alias, not a keyword
    with pytest.raises(KeyError):
        labels["colour"]


def test_takes_the_storage_score_row() -> None:
    scores = pytest.importorskip("storage.repositories.scores")
    row = scores.ScoreRow(**{f: getattr(Row(), f) for f in Row.__dataclass_fields__})
    assert plain(summary("en", row=row)) == plain(summary("en"))
