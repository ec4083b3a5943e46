"""Typed input and button presses become stored answer values; stored values display back."""

from __future__ import annotations

import pytest

from bot.domain.questionnaire import Questionnaire, load_questionnaire
from bot.domain.questionnaire.answers import (
    MSG_AT_LEAST_ONE,
    MSG_BUTTONS,
    MSG_CHOOSE,
    MSG_EMPTY,
    MSG_GREGORIAN_YEAR,
    MSG_ONE_NUMBER,
    MSG_SHARES_FORMAT,
    MSG_SHARES_TOTAL,
    MSG_TEXT,
    MSG_TOO_LONG,
    MSG_WHOLE_NUMBER,
    MSG_YEAR,
    InvalidAnswer,
    choose,
    display,
    expectation,
    finish_multi,
    parse_typed,
    toggle,
    two_digit_year,
    typed_choice,
    validate_stored,
)

YEAR = 1404


@pytest.fixture(scope="module")
def q1() -> Questionnaire:
    return load_questionnaire(1)


def parse(q1: Questionnaire, qid: str, text: str) -> object:
    return parse_typed(q1.question(qid), text, current_year=YEAR)


def rejected(q1: Questionnaire, qid: str, text: str) -> InvalidAnswer:
    with pytest.raises(InvalidAnswer) as info:
        parse(q1, qid, text)
    return info.value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("45", 45),
        ("۴۵", 45),  # Persian digits
        ("٤٥", 45),  # Arabic-Indic digits
        ("45%", 45),
        ("۴۵٪", 45),
        (" 45 % ", 45),
        ("%45", 45),
        ("0", 0),
        ("100", 100),
        ("\u200f۱۰۰\u200e", 100),  # bidi marks from a phone keyboard
        ("007", 7),
    ],
)
def test_percent_accepted(q1: Questionnaire, text: str, value: int) -> None:
    assert parse(q1, "T8", text) == value


@pytest.mark.parametrize("text", ["101", "-5", "abc", "12.5", "۱۲٫۵", "", "  ", "٪"])
def test_percent_rejected(q1: Questionnaire, text: str) -> None:
    error = rejected(q1, "I4", text)
    assert error.msgid == MSG_WHOLE_NUMBER
    assert error.params == {"low": 0, "high": 100, "example": 25}
    assert str(error) == "Please send one number between 0 and 100, like 25."


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("۳۰ درصد", 30),
        ("حدود ۳۰٪", 30),
        ("حدود ۳۰ درصد", 30),
        ("about 20", 20),
        ("30%", 30),
        ("30 percent", 30),
        ("٣٠ ٪", 30),  # Arabic-Indic digits and sign
        ("12abc", 12),
        ("45%%", 45),
    ],
)
def test_percent_with_words_and_units_accepted(q1: Questionnaire, text: str, value: int) -> None:
    assert parse(q1, "I4", text) == value


@pytest.mark.parametrize("text", ["۲۰ تا ۳۰", "20-30", "50 50", "between 20 and 30", "1e2"])
def test_two_numbers_get_their_own_message(q1: Questionnaire, text: str) -> None:
    error = rejected(q1, "I4", text)
    assert (error.msgid, error.params) == (MSG_ONE_NUMBER, {"low": 0, "high": 100})


def test_a_number_with_a_unit_out_of_range_is_refused(q1: Questionnaire) -> None:
    error = rejected(q1, "I4", "حدود ۱۵۰ درصد")
    assert error.msgid == MSG_WHOLE_NUMBER


def test_count(q1: Questionnaire) -> None:
    assert parse(q1, "E3", "۳") == 3
    assert parse(q1, "E3", "250") == 250
    assert parse(q1, "E3", "0") == 0
    for text in ["251", "2.5", "-1", "many"]:
        error = rejected(q1, "E3", text)
        assert error.msgid == MSG_WHOLE_NUMBER and error.params == {"low": 0, "high": 250, "example": 3}


@pytest.mark.parametrize("text", ["۳ کشور", "3 countries", "حدود ۳ کشور", "about 3"])
def test_count_with_a_unit_word_accepted(q1: Questionnaire, text: str) -> None:
    assert parse(q1, "E3", text) == 3


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("سی", 30),
        ("حدود سی درصد", 30),
        ("بیست و پنج", 25),
        ("بيست و پنج", 25),  # Arabic ي
        ("سی‌تا", 30),
        ("صد", 100),
        ("هیچ", 0),
        ("صفر", 0),
        ("thirty", 30),
        ("twenty-five percent", 25),
    ],
)
def test_a_number_written_in_words_is_read(q1: Questionnaire, text: str, value: int) -> None:
    assert parse(q1, "I4", text) == value


@pytest.mark.parametrize("text", ["نه", "ده‌ها", "بیست سی"])
def test_words_that_are_not_one_number_are_refused(q1: Questionnaire, text: str) -> None:
    # «نه» alone is "no"; «ده‌ها» is "tens of"; «بیست سی» is no number.
    assert rejected(q1, "I4", text).msgid == MSG_WHOLE_NUMBER


def test_two_numbers_in_words_get_their_own_message(q1: Questionnaire) -> None:
    assert rejected(q1, "I4", "بیست تا سی").msgid == MSG_ONE_NUMBER


def test_a_number_in_words_out_of_range_is_refused(q1: Questionnaire) -> None:
    assert rejected(q1, "I4", "صد و پنجاه").msgid == MSG_WHOLE_NUMBER


def test_count_with_thousands_separator(q1: Questionnaire) -> None:
    # E3 tops at 250, so 1,200 is read as one number (and refused as out of range), not two.
    assert rejected(q1, "E3", "1,200").msgid == MSG_WHOLE_NUMBER


@pytest.mark.parametrize(
    "text",
    ["70 20 10", "۷۰ ۲۰ ۱۰", "٧٠،٢٠،١٠", "70,20,10", "70, 20, 10", "70/20/10", "70+20+10", "70% 20% 10%",
     "۷۰٪ - ۲۰٪ - ۱۰٪", "70\n20\n10", "70 و 20 و 10", " 70 ; 20 ; 10 "],
)
def test_shares_accepted(q1: Questionnaire, text: str) -> None:
    assert parse(q1, "E1", text) == [70, 20, 10]


def test_shares_rejected(q1: Questionnaire) -> None:
    error = rejected(q1, "E1", "70 20 20")
    assert (error.msgid, error.params) == (MSG_SHARES_TOTAL, {"total": 110})
    assert str(error) == "The three shares add up to 110%; they must add up to 100%."
    assert rejected(q1, "E1", "۵۰ ۲۰ ۱۰").params == {"total": 80}
    for text in ["80 20", "50 25 15 10", "70.5 19.5 10", "hundred", "", "90"]:
        assert rejected(q1, "E1", text).msgid == MSG_SHARES_FORMAT, text
    assert parse(q1, "E1", "100 0 0") == [100, 0, 0]
    assert parse(q1, "E1", "0 0 100") == [0, 0, 100]


def test_shares_single_hundred_means_all_domestic(q1: Questionnaire) -> None:
    assert parse(q1, "E1", "۱۰۰") == [100, 0, 0]


def test_shares_single_hundred_with_a_percent_sign(q1: Questionnaire) -> None:
    assert parse(q1, "E1", "100%") == [100, 0, 0]


def test_shares_with_words_around_them(q1: Questionnaire) -> None:
    assert parse(q1, "E1", "داخلی ۷۰، غیرمستقیم ۲۰، مستقیم ۱۰") == [70, 20, 10]


def test_year(q1: Questionnaire) -> None:
    assert parse(q1, "E2", "1398") == 1398
    assert parse(q1, "E2", "۱۳۹۸") == 1398
    assert parse(q1, "E2", "1300") == 1300
    assert parse(q1, "E2", "1404") == 1404
    # the "none" button's label, typed, is accepted too
    assert parse(q1, "E2", "ندارم") == "none"
    assert parse(q1, "E2", "We don't export") == "none"
    for text in ["1405", "1299", "398", "1398 2", "13.98", "-98"]:
        error = rejected(q1, "E2", text)
        assert error.msgid == MSG_YEAR and error.params == {"low": 1300, "high": 1404}, text
    # A Gregorian year gets a hint that says so.
    error = rejected(q1, "E2", "2019")
    assert error.msgid == MSG_GREGORIAN_YEAR and error.params == {"low": 1300, "high": 1404}


def test_year_with_words_around_it(q1: Questionnaire) -> None:
    assert parse(q1, "E2", "از سال ۱۳۹۸") == 1398


def test_two_digit_year_in_this_century(q1: Questionnaire) -> None:
    assert parse(q1, "E2", "۰۲") == 1402


def test_two_digit_year_in_the_last_century(q1: Questionnaire) -> None:
    assert parse(q1, "E2", "۹۵") == 1395


def test_two_digit_year_with_words(q1: Questionnaire) -> None:
    assert parse(q1, "E2", "از سال ۹۵") == 1395


def test_two_digit_year_of_this_year_is_this_year(q1: Questionnaire) -> None:
    assert parse(q1, "E2", "04") == 1404


def test_two_digit_year_never_in_the_future() -> None:
    # In 1404, «۰۵» cannot be next year: it is 1305.
    assert two_digit_year(5, 1404) == 1305


def test_two_digit_year_pivot_follows_the_current_year() -> None:
    assert two_digit_year(5, 1406) == 1405


def test_text(q1: Questionnaire) -> None:
    assert parse(q1, "P3", "  برق سه روز در هفته قطع است  ") == "برق سه روز در هفته قطع است"
    assert parse(q1, "P3", "كمبود آب") == "کمبود آب"  # Arabic kaf normalised
    assert parse(q1, "P3", "x" * 500) == "x" * 500
    error = rejected(q1, "P3", "x" * 501)
    assert (error.msgid, error.params) == (MSG_TOO_LONG, {"limit": 500})
    assert rejected(q1, "P3", " \u200c ").msgid == MSG_EMPTY


def test_parse_typed_refuses_button_questions(q1: Questionnaire) -> None:
    with pytest.raises(TypeError):
        parse(q1, "T1", "yes")


@pytest.mark.parametrize("text", ["بله", "آره", "بلی", "اره", "yes", "Yes", "YES!", " بله. ", "بلي"])
def test_typed_yes_picks_the_yes_option(q1: Questionnaire, text: str) -> None:
    assert typed_choice(q1.question("T1"), text) == "yes"


@pytest.mark.parametrize("text", ["خیر", "نه", "نخیر", "no", "No.", "خير"])
def test_typed_no_picks_the_no_option(q1: Questionnaire, text: str) -> None:
    assert typed_choice(q1.question("T1"), text) == "no"


def test_typed_yes_on_a_single_choice_with_yes_and_no(q1: Questionnaire) -> None:
    assert typed_choice(q1.question("Q1"), "آره") == "yes"


def test_typed_label_of_another_option_on_a_yes_no_like_question(q1: Questionnaire) -> None:
    q = q1.question("Q1")
    label = next(o for o in q.options if o.id not in ("yes", "no"))
    # ZWNJ and spaces do not matter: «نمی‌دانم» typed as «نمی دانم» still matches.
    assert typed_choice(q, label.fa.replace("\u200c", " ")) == label.id


def test_typed_text_that_is_neither_picks_nothing(q1: Questionnaire) -> None:
    assert typed_choice(q1.question("T1"), "شاید") is None


def test_typed_yes_on_a_question_without_yes_no_options_picks_nothing(q1: Questionnaire) -> None:
    assert typed_choice(q1.question("T4"), "بله") is None


def test_expectation_of_a_number_question(q1: Questionnaire) -> None:
    assert expectation(q1.question("T8"), current_year=YEAR).msgid == MSG_WHOLE_NUMBER


def test_expectation_of_a_button_question(q1: Questionnaire) -> None:
    assert expectation(q1.question("T1"), current_year=YEAR).msgid == MSG_BUTTONS


def test_expectation_of_a_text_question(q1: Questionnaire) -> None:
    assert expectation(q1.question("P3"), current_year=YEAR).msgid == MSG_TEXT


def test_choose(q1: Questionnaire) -> None:
    assert choose(q1.question("T1"), "yes") == "yes"
    assert choose(q1.question("Q1"), "in_process") == "in_process"
    assert choose(q1.question("T4"), "erp") == "erp"
    assert choose(q1.question("Q3"), "not_applicable") == "not_applicable"
    assert choose(q1.question("E2"), "none") == "none"
    assert choose(q1.question("P2"), "power") == "power"
    with pytest.raises(InvalidAnswer) as info:
        choose(q1.question("T1"), "maybe")
    assert info.value.msgid == MSG_CHOOSE
    with pytest.raises(TypeError):
        choose(q1.question("T3"), "social")


def test_toggle_with_exclusive_none(q1: Questionnaire) -> None:
    t3 = q1.question("T3")
    selection = toggle(t3, [], "social")
    assert selection == ["social"]
    selection = toggle(t3, selection, "own_site")
    assert selection == ["own_site", "social"]  # file order
    selection = toggle(t3, selection, "none")
    assert selection == ["none"]  # none clears the others
    selection = toggle(t3, selection, "marketplace")
    assert selection == ["marketplace"]  # another clears none
    assert toggle(t3, selection, "marketplace") == []  # pressing again unticks
    assert toggle(t3, ["none"], "none") == []
    with pytest.raises(InvalidAnswer):
        toggle(t3, [], "tv")
    with pytest.raises(TypeError):
        toggle(q1.question("T1"), [], "yes")


def test_finish_multi(q1: Questionnaire) -> None:
    p1 = q1.question("P1")
    assert finish_multi(p1, ["tax", "power"]) == ["power", "tax"]
    with pytest.raises(InvalidAnswer) as info:
        finish_multi(p1, [])
    assert info.value.msgid == MSG_AT_LEAST_ONE


def test_validate_stored(q1: Questionnaire) -> None:
    q = q1.question
    assert validate_stored(q("T1"), "yes") and not validate_stored(q("T1"), "maybe")
    assert validate_stored(q("T3"), ["own_site", "social"])
    assert not validate_stored(q("T3"), ["social", "own_site"])  # not in file order
    assert not validate_stored(q("T3"), ["none", "social"])
    assert not validate_stored(q("T3"), [])
    assert validate_stored(q("T3"), ["none"])
    assert validate_stored(q("T8"), 40) and not validate_stored(q("T8"), 101)
    assert not validate_stored(q("T8"), True) and not validate_stored(q("T8"), "40")
    assert validate_stored(q("E1"), [70, 20, 10]) and not validate_stored(q("E1"), [70, 20, 20])
    assert validate_stored(q("E2"), 1398) and validate_stored(q("E2"), "none")
    assert not validate_stored(q("E2"), 1405, current_year=1404)
    assert validate_stored(q("E3"), 250) and not validate_stored(q("E3"), 251)
    assert validate_stored(q("P3"), "text") and not validate_stored(q("P3"), "x" * 501)


def test_display(q1: Questionnaire) -> None:
    q = q1.question
    assert display(q("T1"), "yes", "en") == "Yes"
    assert display(q("T1"), "yes", "fa") == "بله"
    assert display(q("T3"), ["own_site", "social"], "en") == "Your own website, Social media"
    assert display(q("T3"), ["own_site", "social"], "fa") == "سایت خودتان، شبکه‌های اجتماعی"
    assert display(q("T8"), 40, "en") == "40%"
    assert display(q("T8"), 40, "fa") == "40٪"
    assert display(q("E1"), [70, 20, 10], "en") == "70% / 20% / 10%"
    assert display(q("E2"), 1398, "fa") == "1398"
    assert display(q("E2"), "none", "en") == "We don't export"
    assert display(q("E3"), 3, "en") == "3"
    assert display(q("P3"), "short", "en") == "short"
    assert display(q("P3"), "x" * 100, "en") == "x" * 59 + "…"


def test_an_option_label_typed_on_any_one_choice_question_picks_it(q1: Questionnaire) -> None:
    q = q1.question("T5")
    option = q.options[1]
    assert typed_choice(q, option.fa.replace("\u200c", " ")) == option.id
