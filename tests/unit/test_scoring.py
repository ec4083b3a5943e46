"""Scoring exactly as QUESTIONNAIRE.md states it."""

from __future__ import annotations

import pytest

from bot.domain.questionnaire import Questionnaire, load_questionnaire
from bot.domain.scoring import lost_points, score_question, score_submission, weakest

REF = 1404


@pytest.fixture(scope="module")
def q1() -> Questionnaire:
    return load_questionnaire(1)


def s(q1: Questionnaire, qid: str, value: object, **kw: object) -> float | None:
    return score_question(q1.question(qid), value, reference_year=REF, **kw)


def test_yesno(q1: Questionnaire) -> None:
    for qid in ["T1", "T2", "T9", "Q4", "E4", "E5", "I1", "I2", "I3", "I5"]:
        assert s(q1, qid, "yes") == 100.0
        assert s(q1, qid, "no") == 0.0


def test_yesno_in_process_and_dont_know(q1: Questionnaire) -> None:
    assert [s(q1, "Q1", v) for v in ["yes", "in_process", "no", "dont_know"]] == [100.0, 50.0, 0.0, 0.0]


def test_q5_is_inverted(q1: Questionnaire) -> None:
    assert s(q1, "Q5", "yes") == 0.0
    assert s(q1, "Q5", "no") == 100.0


def test_ladders(q1: Questionnaire) -> None:
    assert [s(q1, "T4", v) for v in ["paper", "spreadsheet", "accounting_software", "erp"]] == [0, 33, 67, 100]
    assert [s(q1, "T5", v) for v in ["manual", "spreadsheet", "mrp", "mes"]] == [0, 33, 67, 100]
    assert [s(q1, "T6", v) for v in ["visual", "manual_gauges", "spc", "automated"]] == [0, 33, 67, 100]
    assert [s(q1, "T7", v) for v in ["cash_cheque", "bank_pos", "online_gateway"]] == [0, 50, 100]


def test_multi(q1: Questionnaire) -> None:
    assert s(q1, "T3", ["none"]) == 0.0
    assert s(q1, "T3", ["social"]) == 40.0
    assert s(q1, "T3", ["own_site", "social"]) == 80.0
    assert s(q1, "T3", ["own_site", "marketplace", "social"]) == 100.0  # 120 capped
    assert s(q1, "Q2", ["none"]) == 0.0
    assert s(q1, "Q2", ["iso9001"]) == 30.0
    assert s(q1, "Q2", ["iso9001", "halal"]) == 60.0
    assert s(q1, "Q2", ["iso9001", "iso14001", "ce"]) == 90.0
    assert s(q1, "Q2", ["iso9001", "iso14001", "iso45001", "other"]) == 100.0  # 120 capped


def test_single_and_excluded(q1: Questionnaire) -> None:
    assert s(q1, "Q3", "mandatory") == 100.0
    assert s(q1, "Q3", "voluntary") == 100.0
    assert s(q1, "Q3", "no") == 0.0
    assert s(q1, "Q3", "not_applicable") is None


def test_percent(q1: Questionnaire) -> None:
    assert s(q1, "T8", 0) == 0.0
    assert s(q1, "T8", 35) == 35.0
    assert s(q1, "T10", 100) == 100.0
    assert s(q1, "I4", 20) == 40.0  # doubled
    assert s(q1, "I4", 50) == 100.0
    assert s(q1, "I4", 80) == 100.0  # capped


def test_shares(q1: Questionnaire) -> None:
    assert s(q1, "E1", [100, 0, 0]) == 0.0
    assert s(q1, "E1", [70, 20, 10]) == 40.0  # 2 × 10 + 20
    assert s(q1, "E1", [80, 0, 20]) == 40.0
    assert s(q1, "E1", [50, 50, 0]) == 50.0
    assert s(q1, "E1", [40, 30, 30]) == 90.0
    assert s(q1, "E1", [30, 30, 40]) == 100.0  # 110 capped
    assert s(q1, "E1", [0, 0, 100]) == 100.0


def test_years_of_export(q1: Questionnaire) -> None:
    assert s(q1, "E2", "none") == 0.0
    assert s(q1, "E2", 1404) == 0.0
    assert s(q1, "E2", 1403) == 20.0
    assert s(q1, "E2", 1401) == 60.0
    assert s(q1, "E2", 1400) == 80.0
    assert s(q1, "E2", 1399) == 100.0  # 5 years
    assert s(q1, "E2", 1350) == 100.0
    assert score_question(q1.question("E2"), 1400, reference_year=1403) == 60.0


def test_countries_curve(q1: Questionnaire) -> None:
    assert [s(q1, "E3", n) for n in [0, 1, 2, 3, 4, 5, 250]] == [0, 40, 70, 70, 100, 100, 100]


def test_unscored_and_inapplicable(q1: Questionnaire) -> None:
    assert s(q1, "P1", ["power", "tax"]) is None
    assert s(q1, "P2", "power") is None
    assert s(q1, "P3", "text") is None
    assert s(q1, "T5", "mes", sector="G") is None
    assert s(q1, "T5", "mes", sector="C") == 100.0
    assert s(q1, "T1", None) is None


def test_invalid_value_raises(q1: Questionnaire) -> None:
    with pytest.raises(ValueError, match="question T1"):
        s(q1, "T1", "maybe")
    with pytest.raises(ValueError, match="question E1"):
        s(q1, "E1", [50, 50])
    with pytest.raises(ValueError, match="question T8"):
        s(q1, "T8", "40")
    with pytest.raises(ValueError, match="question E3"):
        s(q1, "E3", "3")
    with pytest.raises(ValueError, match="question E2"):
        s(q1, "E2", "1398")


# -- submissions ------------------------------------------------------------------------------

PRODUCTION = {
    # tech: 100, 0, 80, 67, 33, 0, 50, 35, 100, 25  -> 490 / 10 = 49.0
    "T1": "yes", "T2": "no", "T3": ["own_site", "social"], "T4": "accounting_software",
    "T5": "spreadsheet", "T6": "visual", "T7": "bank_pos", "T8": 35, "T9": "yes", "T10": 25,
    # quality: 50, 60, excluded, 100, 100  -> 310 / 4 = 77.5
    "Q1": "in_process", "Q2": ["iso9001", "halal"], "Q3": "not_applicable", "Q4": "yes", "Q5": "no",
    # export: 40, 60, 70, 100, 0  -> 270 / 5 = 54.0
    "E1": [70, 20, 10], "E2": 1401, "E3": 2, "E4": "yes", "E5": "no",
    # innovation: 100, 100, 0, 60, 0  -> 260 / 5 = 52.0
    "I1": "yes", "I2": "yes", "I3": "no", "I4": 30, "I5": "no",
    "P1": ["power", "tax"], "P2": "power",
}


def test_production_submission(q1: Questionnaire) -> None:
    result = score_submission(q1, PRODUCTION, sector="C", reference_year=REF)
    assert result.complete and result.missing == []
    assert result.dimensions == pytest.approx({"tech": 49.0, "quality": 77.5, "export": 54.0, "innovation": 52.0})
    assert result.composite == pytest.approx((49.0 + 77.5 + 54.0 + 52.0) / 4)  # 58.125
    assert "Q3" not in result.question_scores
    assert not {"P1", "P2", "P3"} & set(result.question_scores)
    assert result.question_scores["E1"] == 40.0


def test_services_firm_skips_production_questions(q1: Questionnaire) -> None:
    answers = {k: v for k, v in PRODUCTION.items() if k not in {"T5", "T6", "T8", "Q3", "Q4"}}
    result = score_submission(q1, answers, sector="G", reference_year=REF)
    assert result.complete
    # tech: 100, 0, 80, 67, 50, 100, 25 -> 422 / 7; quality: 50, 60, 100 -> 70
    assert result.dimensions["tech"] == pytest.approx(422 / 7)
    assert result.dimensions["quality"] == pytest.approx(70.0)
    # production answers given anyway by a services firm are ignored
    again = score_submission(q1, PRODUCTION, sector="G", reference_year=REF)
    assert again.dimensions == pytest.approx(result.dimensions)


def test_custom_weights(q1: Questionnaire) -> None:
    weights = {"tech": 2, "quality": 1, "export": 1, "innovation": 0}
    result = score_submission(q1, PRODUCTION, sector="C", reference_year=REF, weights=weights)
    assert result.composite == pytest.approx((2 * 49.0 + 77.5 + 54.0) / 4)  # 57.375
    only_export = score_submission(q1, PRODUCTION, sector="C", reference_year=REF, weights={"export": 3})
    assert only_export.composite == pytest.approx(54.0)
    with pytest.raises(ValueError, match="unknown dimension 'problems'"):
        score_submission(q1, PRODUCTION, sector="C", reference_year=REF, weights={"problems": 1})
    with pytest.raises(ValueError, match="positive weight"):
        score_submission(q1, PRODUCTION, sector="C", reference_year=REF, weights={"tech": 0})
    with pytest.raises(ValueError, match="negative"):
        score_submission(q1, PRODUCTION, sector="C", reference_year=REF, weights={"tech": -1})


def test_incomplete_submission_is_not_scored(q1: Questionnaire) -> None:
    answers = {k: v for k, v in PRODUCTION.items() if k not in {"T4", "E2", "P2"}}
    result = score_submission(q1, answers, sector="C", reference_year=REF)
    assert not result.complete
    assert result.composite is None
    assert result.missing == ["T4", "E2", "P2"]
    # P3 is optional: its absence never makes a submission incomplete
    assert score_submission(q1, PRODUCTION, sector="C", reference_year=REF).missing == []
    # a production question unanswered by a services firm is not missing
    assert "T5" not in score_submission(q1, {}, sector="G", reference_year=REF).missing


def test_all_best_and_all_worst(q1: Questionnaire) -> None:
    best = {
        "T1": "yes", "T2": "yes", "T3": ["own_site", "marketplace", "social"], "T4": "erp", "T5": "mes",
        "T6": "automated", "T7": "online_gateway", "T8": 100, "T9": "yes", "T10": 100,
        "Q1": "yes", "Q2": ["iso9001", "iso14001", "iso45001", "ce"], "Q3": "mandatory", "Q4": "yes",
        "Q5": "no", "E1": [0, 0, 100], "E2": 1390, "E3": 12, "E4": "yes", "E5": "yes",
        "I1": "yes", "I2": "yes", "I3": "yes", "I4": 50, "I5": "yes", "P1": ["other"], "P2": "other",
    }
    result = score_submission(q1, best, sector="C", reference_year=REF)
    assert result.composite == 100.0
    assert set(result.dimensions.values()) == {100.0}
    assert weakest(q1, result) == []
    worst = {
        "T1": "no", "T2": "no", "T3": ["none"], "T4": "paper", "T5": "manual", "T6": "visual",
        "T7": "cash_cheque", "T8": 0, "T9": "no", "T10": 0, "Q1": "dont_know", "Q2": ["none"],
        "Q3": "no", "Q4": "no", "Q5": "yes", "E1": [100, 0, 0], "E2": "none", "E3": 0, "E4": "no",
        "E5": "no", "I1": "no", "I2": "no", "I3": "no", "I4": 0, "I5": "no", "P1": ["tax"], "P2": "tax",
    }
    assert score_submission(q1, worst, sector="C", reference_year=REF).composite == 0.0


def test_lost_points_name_the_weakest_questions(q1: Questionnaire) -> None:
    result = score_submission(q1, PRODUCTION, sector="C", reference_year=REF)
    lost = lost_points(q1, result)
    assert set(lost) == set(result.question_scores)
    # export and innovation questions weigh 1/5 of a dimension, a quarter of the composite
    assert lost["E5"] == pytest.approx(100 * (1 / 5) * (1 / 4))  # 5.0
    assert lost["I3"] == pytest.approx(5.0)
    assert lost["I5"] == pytest.approx(5.0)
    assert lost["T2"] == pytest.approx(100 * (1 / 10) * (1 / 4))  # 2.5
    assert lost["Q1"] == pytest.approx(50 * (1 / 4) * (1 / 4))  # 3.125 (Q3 excluded: 4 questions)
    assert lost["T1"] == 0.0
    assert weakest(q1, result) == ["E5", "I3", "I5"]  # ties in questionnaire order
    # the losses add up to what the composite misses
    assert sum(lost.values()) == pytest.approx(100 - result.composite)


def test_lost_points_follow_the_weights(q1: Questionnaire) -> None:
    result = score_submission(q1, PRODUCTION, sector="C", reference_year=REF, weights={"tech": 1})
    lost = lost_points(q1, result)
    assert lost["E5"] == 0.0
    assert weakest(q1, result, n=2) == ["T2", "T6"]


def test_question_weights(q1: Questionnaire) -> None:
    heavy = q1.model_copy(deep=True)
    questions = tuple(
        q.model_copy(update={"weight": 3.0}) if q.id == "E1" else q for q in heavy.questions
    )
    weighted = Questionnaire(version=1, dimensions=heavy.dimensions, questions=questions)
    result = score_submission(weighted, PRODUCTION, sector="C", reference_year=REF)
    # export: (3 × 40 + 60 + 70 + 100 + 0) / 7
    assert result.dimensions["export"] == pytest.approx(350 / 7)
