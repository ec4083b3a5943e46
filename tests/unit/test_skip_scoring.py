"""Scoring questionnaire version 2: a question skipped by its rule scores its implied answer."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.questionnaire import Questionnaire, load_questionnaire
from bot.domain.scoring import score_submission

REF = 1404

EXPORTER: dict[str, Any] = {
    "T1": "yes", "T2": "no", "T3": ["own_site", "social"], "T4": "accounting_software",
    "T5": "spreadsheet", "T6": "visual", "T7": "bank_pos", "T8": 35, "T9": "yes", "T10": 25,
    "Q1": "yes", "Q2": ["iso9001", "halal"], "Q3": "not_applicable", "Q4": "yes", "Q5": "no",
    "E1": [70, 20, 10], "E2": 1401, "E3": 2, "E4": "yes", "E5": "no",
    "I1": "yes", "I2": "yes", "I3": "no", "I4": 30, "I5": "no",
    "P1": ["power", "tax"], "P2": "power",
}
# Everything an earlier answer implies left out: no exports, no certificate, no new product,
# no problems.
HOME_MARKET = {
    **{k: v for k, v in EXPORTER.items() if k not in {"Q2", "E2", "E3", "I4", "P2"}},
    "E1": [100, 0, 0], "Q1": "no", "I1": "no", "P1": ["no_problems"],
}


@pytest.fixture(scope="module")
def v1() -> Questionnaire:
    return load_questionnaire(1)


@pytest.fixture(scope="module")
def v2() -> Questionnaire:
    return load_questionnaire(2)


def test_skipped_questions_are_not_missing(v2: Questionnaire) -> None:
    result = score_submission(v2, HOME_MARKET, sector="C", reference_year=REF)
    assert result.complete and result.missing == []


def test_skipped_questions_score_their_implied_answers(v2: Questionnaire) -> None:
    result = score_submission(v2, HOME_MARKET, sector="C", reference_year=REF)
    assert {q: result.question_scores[q] for q in ("Q2", "E2", "E3", "I4")} == {
        "Q2": 0.0, "E2": 0.0, "E3": 0.0, "I4": 0.0}


def test_skipping_scores_as_answering_the_implied_values_in_version_1(v1: Questionnaire, v2: Questionnaire) -> None:
    implied = {"Q2": ["none"], "E2": "none", "E3": 0, "I4": 0, "P2": "power"}
    answers_v1 = {**HOME_MARKET, **implied, "P1": ["power"]}
    skipped = score_submission(v2, HOME_MARKET, sector="C", reference_year=REF)
    answered = score_submission(v1, answers_v1, sector="C", reference_year=REF)
    assert skipped.dimensions == answered.dimensions
    assert skipped.composite == answered.composite


def test_a_skip_counts_as_zero_unlike_not_applicable(v2: Questionnaire) -> None:
    result = score_submission(v2, HOME_MARKET, sector="C", reference_year=REF)
    # quality: Q1 0, Q2 0 (skipped), Q3 left out (not applicable), Q4 100, Q5 100 -> 200 / 4
    assert result.dimensions["quality"] == 50.0
    assert "Q3" not in result.question_scores


def test_an_answer_kept_from_before_the_skip_does_not_count(v2: Questionnaire) -> None:
    stale = {**HOME_MARKET, "E2": 1390, "E3": 12}
    result = score_submission(v2, stale, sector="C", reference_year=REF)
    assert result.question_scores["E2"] == 0.0 and result.question_scores["E3"] == 0.0


def test_exporters_are_asked_and_scored_as_in_version_1(v1: Questionnaire, v2: Questionnaire) -> None:
    new = score_submission(v2, EXPORTER, sector="C", reference_year=REF)
    old = score_submission(v1, EXPORTER, sector="C", reference_year=REF)
    assert new.question_scores == old.question_scores and new.composite == old.composite


def test_exporters_still_have_to_answer_e2_and_e3(v2: Questionnaire) -> None:
    answers = {k: v for k, v in EXPORTER.items() if k not in {"E2", "E3"}}
    result = score_submission(v2, answers, sector="C", reference_year=REF)
    assert result.missing == ["E2", "E3"] and result.composite is None


def test_a_version_1_round_does_not_skip(v1: Questionnaire) -> None:
    result = score_submission(v1, HOME_MARKET, sector="C", reference_year=REF)
    assert result.missing == ["Q2", "E2", "E3", "I4", "P2"] and result.composite is None
