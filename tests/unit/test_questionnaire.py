"""The shipped questionnaire loads, and broken variants are rejected with precise messages."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.domain.questionnaire import (
    QUESTION_TYPES,
    Questionnaire,
    QuestionnaireError,
    available_versions,
    load_questionnaire,
    load_questionnaire_file,
)
from bot.domain.questionnaire.loader import QUESTIONNAIRE_DIR

V1_PATH = QUESTIONNAIRE_DIR / "v1.toml"
EXPECTED_IDS = (
    [f"T{i}" for i in range(1, 11)]
    + [f"Q{i}" for i in range(1, 6)]
    + [f"E{i}" for i in range(1, 6)]
    + [f"I{i}" for i in range(1, 6)]
    + ["P1", "P2", "P3"]
)
PRODUCTION_ONLY = {"T5", "T6", "T8", "Q3", "Q4"}


@pytest.fixture(scope="module")
def q1() -> Questionnaire:
    return load_questionnaire(1)


@pytest.fixture()
def raw() -> dict:
    with V1_PATH.open("rb") as fh:
        return tomllib.load(fh)


def test_shipped_file_loads(q1: Questionnaire) -> None:
    assert q1.version == 1
    assert 1 in available_versions()
    assert [q.id for q in q1.questions] == EXPECTED_IDS
    assert [d.id for d in q1.dimensions] == ["tech", "quality", "export", "innovation", "problems"]
    assert [d.id for d in q1.scored_dimensions] == ["tech", "quality", "export", "innovation"]
    assert load_questionnaire(1) is q1  # cached


def test_question_types(q1: Questionnaire) -> None:
    types = {q.id: q.type for q in q1.questions}
    assert types["T3"] == types["Q2"] == types["P1"] == "multi"
    assert types["T4"] == types["T5"] == types["T6"] == types["T7"] == "ladder"
    assert types["T8"] == types["T10"] == types["I4"] == "percent"
    assert types["Q3"] == types["P2"] == "single"
    assert (types["E1"], types["E2"], types["E3"], types["P3"]) == ("shares", "year_or_none", "count", "text")
    assert all(types[i] == "yesno" for i in ["T1", "T2", "T9", "Q1", "Q4", "Q5", "E4", "E5", "I1", "I2", "I3", "I5"])


def test_scored_required_and_helpers(q1: Questionnaire) -> None:
    assert [q.id for q in q1.questions if not q.is_scored] == ["P1", "P2", "P3"]
    assert [q.id for q in q1.questions if not q.required] == ["P3"]
    t4 = q1.question("T4")
    assert [o.points for o in t4.options] == [0, 33, 67, 100]
    assert [o.points for o in q1.question("T7").options] == [0, 50, 100]
    assert t4.option("erp").en == "Integrated system (ERP)"
    assert t4.help is not None and "ERP" in t4.help.en
    with pytest.raises(KeyError):
        q1.question("X9")
    with pytest.raises(KeyError):
        t4.option("nope")


def test_p2_copies_p1_options(q1: Questionnaire) -> None:
    assert q1.question("P2").options == q1.question("P1").options
    assert len(q1.question("P1").options) == 15


def test_texts_and_labels(q1: Questionnaire) -> None:
    for q in q1.questions:
        assert q.text.fa and q.text.en
        assert not re.search(r"[\u0600-\u06ff]", q.text.en.replace("دانش‌بنیان", "")), q.id
        for o in q.options:
            assert len(o.fa) <= 30 and len(o.en) <= 30, (q.id, o.id)
    e1 = q1.question("E1")
    assert "{fiscal_year}" in e1.text.fa
    assert "(1404)" in e1.prompt("en", fiscal_year=1404)
    assert "{" not in q1.question("T1").prompt("fa")


def test_sector_filtering(q1: Questionnaire) -> None:
    services = [q.id for q in q1.questions_for("G")]
    assert PRODUCTION_ONLY.isdisjoint(services)
    assert services == [i for i in EXPECTED_IDS if i not in PRODUCTION_ONLY]
    for sector in ["C", "c", "A", "C10"]:
        assert [q.id for q in q1.questions_for(sector)] == EXPECTED_IDS
    assert [q.id for q in q1.questions_for(None)] == EXPECTED_IDS
    assert q1.question("T5").applies_to("C") and not q1.question("T5").applies_to("J")
    assert q1.question("T1").applies_to("J")


# -- broken files -----------------------------------------------------------------------------


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(_dump(raw), encoding="utf-8")
    return path


def _dump(raw: dict) -> str:
    """A minimal TOML writer for the questionnaire's shapes (tomllib only reads)."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        raise TypeError(v)

    lines = [f"{k} = {value(v)}" for k, v in raw.items() if not isinstance(v, list) or not v or not isinstance(v[0], dict)]
    for key in ("dimensions", "questions"):
        for table in raw.get(key, []):
            lines.append(f"\n[[{key}]]")
            lines.extend(f"{k} = {value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def _q(raw: dict, qid: str) -> dict:
    return next(q for q in raw["questions"] if q["id"] == qid)


def test_round_trip_of_the_test_writer(tmp_path: Path, raw: dict) -> None:
    assert load_questionnaire_file(_write(tmp_path, raw)).model_dump() == load_questionnaire(1).model_dump()


def _break_ladder(raw: dict) -> None:
    _q(raw, "T4")["options"][2]["points"] = 10


def _duplicate_id(raw: dict) -> None:
    _q(raw, "T2")["id"] = "T1"


def _unknown_dimension(raw: dict) -> None:
    _q(raw, "E4")["dimension"] = "exports"


def _unknown_type(raw: dict) -> None:
    _q(raw, "I1")["type"] = "boolean"


def _missing_en(raw: dict) -> None:
    del _q(raw, "Q4")["text"]["en"]


def _empty_fa(raw: dict) -> None:
    _q(raw, "Q5")["text"]["fa"] = "  "


def _yesno_without_no(raw: dict) -> None:
    _q(raw, "T9")["options"][1]["id"] = "nah"


def _multi_without_cap(raw: dict) -> None:
    del _q(raw, "T3")["cap"]


def _exclusive_in_single(raw: dict) -> None:
    _q(raw, "Q3")["options"][2]["exclusive"] = True


def _options_from_unknown(raw: dict) -> None:
    _q(raw, "P2")["options_from"] = "P9"


def _shares_two_parts(raw: dict) -> None:
    _q(raw, "E1")["parts"].pop()


def _points_out_of_range(raw: dict) -> None:
    _q(raw, "Q2")["options"][0]["points"] = 130


def _option_without_points(raw: dict) -> None:
    del _q(raw, "E4")["options"][0]["points"]


def _unknown_sector(raw: dict) -> None:
    _q(raw, "T6")["sectors"] = ["C", "manufacturing"]


def _typo_key(raw: dict) -> None:
    _q(raw, "I2")["wieght"] = 2


def _curve_not_increasing(raw: dict) -> None:
    _q(raw, "E3")["curve"] = [[0, 0], [2, 40], [2, 70]]


def _unknown_placeholder(raw: dict) -> None:
    _q(raw, "E1")["text"]["en"] = "Sales in {year}?"


def _zero_weight(raw: dict) -> None:
    _q(raw, "T7")["weight"] = 0


def _year_without_none(raw: dict) -> None:
    _q(raw, "E2")["options"][0]["id"] = "never"


def _text_without_limit(raw: dict) -> None:
    del _q(raw, "P3")["max_length"]


def _percent_with_options(raw: dict) -> None:
    _q(raw, "T8")["options"] = copy.deepcopy(_q(raw, "T1")["options"])


def _duplicate_option(raw: dict) -> None:
    _q(raw, "T7")["options"][1]["id"] = "cash_cheque"


@pytest.mark.parametrize(
    ("breaker", "message"),
    [
        (_break_ladder, "question T4: options: points must not decrease along a ladder"),
        (_duplicate_id, "question T1: id: duplicate question id"),
        (_unknown_dimension, "question E4: dimension: unknown dimension 'exports'"),
        (_unknown_type, "question I1: type: unknown type 'boolean'"),
        (_missing_en, "question Q4: text.en: field required"),
        (_empty_fa, "question Q5: text.fa: must not be empty"),
        (_yesno_without_no, "question T9: options: a yesno question needs the options 'yes' and 'no'"),
        (_multi_without_cap, "question T3: cap: a scored multi question needs a cap"),
        (_exclusive_in_single, "question Q3: options: only a multi question can have an exclusive option"),
        (_options_from_unknown, "question P2: options_from: unknown question 'P9'"),
        (_shares_two_parts, "question E1: parts: a shares question needs exactly three parts"),
        (_points_out_of_range, "question Q2: options[iso9001].points: must be between 0 and 100"),
        (_option_without_points, "question E4: options: option 'yes' needs points"),
        (_unknown_sector, "question T6: sectors: unknown ISIC section(s) 'manufacturing'"),
        (_typo_key, "question I2: wieght: extra inputs are not permitted"),
        (_curve_not_increasing, "question E3: curve: thresholds must increase"),
        (_unknown_placeholder, "question E1: text: en: unknown placeholder {year}"),
        (_zero_weight, "question T7: weight: must be positive"),
        (_year_without_none, "question E2: options: a year_or_none question has exactly one option, 'none'"),
        (_text_without_limit, "question P3: max_length: a text question needs a positive maximum length"),
        (_percent_with_options, "question T8: options: a percent question has no options"),
        (_duplicate_option, "question T7: options: duplicate option id 'cash_cheque'"),
    ],
)
def test_broken_files_are_rejected(tmp_path: Path, raw: dict, breaker, message: str) -> None:
    breaker(raw)
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire_file(_write(tmp_path, raw))
    assert str(info.value).startswith(message), str(info.value)


def test_unknown_type_lists_the_known_ones(tmp_path: Path, raw: dict) -> None:
    _unknown_type(raw)
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire_file(_write(tmp_path, raw))
    assert all(t in str(info.value) for t in QUESTION_TYPES)


def test_file_level_errors(tmp_path: Path, raw: dict) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 1\n[[questions]\n", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="not valid TOML"):
        load_questionnaire_file(bad)
    with pytest.raises(QuestionnaireError, match="cannot read"):
        load_questionnaire_file(tmp_path / "absent.toml")
    with pytest.raises(QuestionnaireError, match=r"questionnaire version 99: no file v99\.toml"):
        load_questionnaire(99)
    raw["version"] = "one"
    with pytest.raises(QuestionnaireError, match="questionnaire: version: must be a positive integer"):
        load_questionnaire_file(_write(tmp_path, raw))


def test_dimension_without_questions(tmp_path: Path, raw: dict) -> None:
    raw["dimensions"].append({"id": "green", "fa": "سبز", "en": "Green"})
    with pytest.raises(QuestionnaireError, match="dimension green: questions: the dimension has no question"):
        load_questionnaire_file(_write(tmp_path, raw))


def test_models_are_frozen(q1: Questionnaire) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        q1.question("T1").weight = 3  # type: ignore[misc]


@pytest.mark.parametrize("version", [1, 2])
def test_every_scored_question_names_its_topic_in_a_few_words(version: int) -> None:
    """The improvement priorities are headed by the topic, not by the question's wording."""
    for q in load_questionnaire(version).questions:
        if q.is_scored:
            assert q.topic is not None, q.id
            assert 0 < len(q.topic.fa) <= 40 and 0 < len(q.topic.en) <= 40, q.id
            assert "?" not in q.topic.en and "؟" not in q.topic.fa, q.id
