"""Questionnaire version 2: skip rules in the file, and the loader's checks on them."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest

from bot.domain.questionnaire import Questionnaire, QuestionnaireError, load_questionnaire, parse_questionnaire
from bot.domain.questionnaire.loader import QUESTIONNAIRE_DIR


@pytest.fixture(scope="module")
def v2() -> Questionnaire:
    return load_questionnaire(2)


@pytest.fixture()
def raw() -> dict[str, Any]:
    with (QUESTIONNAIRE_DIR / "v2.toml").open("rb") as fh:
        return tomllib.load(fh)


def _question(raw: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for q in raw["questions"] if q["id"] == qid)


def _rejects(raw: dict[str, Any]) -> str:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(raw)
    return str(info.value)


def _scoring_rules(q: Questionnaire) -> dict[str, tuple[object, ...]]:
    return {
        x.id: (
            x.dimension, x.type, x.weight, x.required, x.sectors, x.cap, x.factor, x.low, x.high,
            x.curve, tuple((p.id, p.factor) for p in x.parts), x.min_year, x.per_year,
            tuple((o.id, o.points, o.exclusive, o.excluded) for o in x.options if o.id != "no_problems"),
        )
        for x in q.questions
    }


def test_version_2_keeps_every_id_and_scoring_rule_of_version_1(v2: Questionnaire) -> None:
    assert v2.version == 2
    assert _scoring_rules(v2) == _scoring_rules(load_questionnaire(1))


def test_p1_has_no_particular_problems_and_p2_does_not_offer_it(v2: Questionnaire) -> None:
    option = v2.question("P1").option("no_problems")
    assert option.fa == "مشکل خاصی نداریم" and option.exclusive
    assert not v2.question("P2").has_option("no_problems")


def test_no_exports_in_e1_skips_e2_and_e3_as_none_and_zero(v2: Questionnaire) -> None:
    assert v2.skipped("C", {"E1": [100, 0, 0]}) == {"E2": "none", "E3": 0}


def test_exports_in_e1_skip_nothing(v2: Questionnaire) -> None:
    assert v2.skipped("C", {"E1": [90, 0, 10]}) == {}


def test_q1_other_than_yes_skips_q2_as_none(v2: Questionnaire) -> None:
    for answer in ("no", "in_process", "dont_know"):
        assert v2.skipped("C", {"Q1": answer}) == {"Q2": ["none"]}
    assert v2.skipped("C", {"Q1": "yes"}) == {}


def test_i1_no_skips_i4_as_zero_and_p1_no_problems_skips_p2(v2: Questionnaire) -> None:
    assert v2.skipped("C", {"I1": "no", "P1": ["no_problems"]}) == {"I4": 0, "P2": None}


def test_visible_questions_leave_out_the_skipped_ones(v2: Questionnaire) -> None:
    shown = [q.id for q in v2.visible("C", {"E1": [100, 0, 0]})]
    assert "E2" not in shown and "E3" not in shown and len(shown) == len(v2.questions) - 2


def test_e2_none_is_refused_once_e1_reported_exports(v2: Questionnaire) -> None:
    refuse = v2.question("E2").refuse
    assert refuse is not None and refuse.reason == "exports_reported"
    assert refuse.refuses("none", {"E1": [70, 20, 10]})
    assert not refuse.refuses(1398, {"E1": [70, 20, 10]})


def test_a_condition_naming_an_unknown_question_is_rejected(raw: dict[str, Any]) -> None:
    _question(raw, "Q2")["skip_if"] = {"question": "Q9", "answer_in": ["no"]}
    assert _rejects(raw) == "question Q2: skip_if: unknown question 'Q9'"


def test_a_refusal_naming_an_unknown_question_is_rejected(raw: dict[str, Any]) -> None:
    _question(raw, "E2")["refuse"]["when"]["question"] = "E0"
    assert _rejects(raw) == "question E2: refuse: unknown question 'E0'"


def test_a_condition_naming_a_later_question_is_rejected(raw: dict[str, Any]) -> None:
    _question(raw, "Q2")["skip_if"] = {"question": "Q4", "answer_in": ["no"]}
    assert _rejects(raw) == (
        "question Q2: skip_if: Q4 comes later; a condition may only name an earlier question"
    )


def test_a_question_skipped_on_its_own_answer_is_a_cycle(raw: dict[str, Any]) -> None:
    _question(raw, "Q2")["skip_if"] = {"question": "Q2", "answer_in": ["none"]}
    assert _rejects(raw) == "question Q2: skip_if: the conditions form a cycle (Q2 → Q2)"


def test_two_questions_skipped_on_each_other_are_a_cycle(raw: dict[str, Any]) -> None:
    _question(raw, "Q4")["skip_if"] = {"question": "Q5", "answer_in": ["no"]}
    _question(raw, "Q4")["implied"] = "no"
    _question(raw, "Q5")["skip_if"] = {"question": "Q4", "answer_in": ["no"]}
    _question(raw, "Q5")["implied"] = "no"
    assert _rejects(raw) == "question Q4: skip_if: the conditions form a cycle (Q4 → Q5 → Q4)"


def test_a_condition_on_an_option_the_question_lacks_is_rejected(raw: dict[str, Any]) -> None:
    _question(raw, "I4")["skip_if"] = {"question": "I1", "answer_in": ["maybe"]}
    assert _rejects(raw) == "question I4: skip_if: I1 has no option 'maybe'"


def test_a_condition_on_an_unknown_part_is_rejected(raw: dict[str, Any]) -> None:
    _question(raw, "E3")["skip_if"] = {"question": "E1", "parts": ["abroad"], "at_most": 0}
    assert _rejects(raw) == "question E3: skip_if: E1 has no part 'abroad'"


def test_options_on_a_typed_question_are_rejected(raw: dict[str, Any]) -> None:
    _question(raw, "E3")["skip_if"] = {"question": "E1", "answer_in": ["domestic"]}
    assert _rejects(raw) == "question E3: skip_if: answer_in needs a choice question, E1 is shares"


def test_a_condition_with_both_options_and_a_bound_is_rejected(raw: dict[str, Any]) -> None:
    _question(raw, "I4")["skip_if"] = {"question": "I1", "answer_in": ["no"], "at_most": 0}
    assert "question I4: skip_if: give either answer_in or at_most / at_least" in _rejects(raw)


def test_a_skipped_scored_question_needs_its_implied_answer(raw: dict[str, Any]) -> None:
    del _question(raw, "I4")["implied"]
    assert _rejects(raw) == (
        "question I4: implied: a scored question with skip_if needs the answer it scores as"
    )


def test_an_implied_answer_the_question_cannot_take_is_rejected(raw: dict[str, Any]) -> None:
    _question(raw, "I4")["implied"] = 150
    assert _rejects(raw) == "question I4: implied: 150 is not a valid answer to this question"


def test_an_unknown_refusal_reason_is_rejected(raw: dict[str, Any]) -> None:
    _question(raw, "E2")["refuse"]["reason"] = "because"
    assert "question E2: refuse.reason: unknown reason 'because'" in _rejects(raw)


def test_the_shipped_rules_pass_the_checks(raw: dict[str, Any]) -> None:
    assert parse_questionnaire(copy.deepcopy(raw)).skipped(None, {"Q1": "no"}) == {"Q2": ["none"]}


def test_every_refusal_reason_has_a_message() -> None:
    from bot.domain.questionnaire.answers import REFUSALS
    from bot.domain.questionnaire.model import REFUSAL_REASONS

    assert set(REFUSALS) == REFUSAL_REASONS
