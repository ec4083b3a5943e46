"""Khooshe's markup rendered for Bale: what a reader sees is what was meant, and a user's text
never turns into formatting."""

from __future__ import annotations

from html import escape

from bot.domain import formatting
from bot.domain.formatting import neutralise, parse, to_bale, to_plain
from bot.emulator.strict import parse_bale_markdown


def shown_on_bale(markup: str) -> tuple[str, list[dict[str, object]]]:
    return parse_bale_markdown(to_bale(markup))


def test_bold_becomes_bale_bold() -> None:
    text, entities = shown_on_bale("استان: <b>تهران</b>")
    assert text == "استان: تهران"
    assert entities == [{"type": "bold", "offset": 7, "length": 5}]


def test_entities_are_shown_as_the_characters_they_stand_for() -> None:
    text, _ = shown_on_bale(escape('R&D <Winter> "A"', quote=False))
    assert text == 'R&D <Winter> "A"'


def test_a_firm_named_with_asterisks_is_not_bold() -> None:
    text, entities = shown_on_bale("Firm: <b>" + escape("*ABC*") + "</b> and *XYZ*")
    assert entities == [{"type": "bold", "offset": 6, "length": 5}]
    assert "ABC" in text and "XYZ" in text and "*" not in text


def test_underscores_in_usage_lines_do_not_make_italics() -> None:
    text, entities = shown_on_bale("Usage: /removemanager USER_ID [ESTATE_ID]")
    assert entities == []
    assert text.replace("\u02cd", "_") == "Usage: /removemanager USER_ID [ESTATE_ID]"


def test_user_text_shaped_like_a_link_stays_text() -> None:
    text, entities = shown_on_bale(escape("[click](http://evil.example)"))
    assert [e["type"] for e in entities] == ["code"]  # the address is shown, never a hidden link
    assert "click" in text and "http://evil.example" in text


def test_bold_never_spans_a_line_break() -> None:
    assert to_bale("<b>one\ntwo</b>") == "*one*\n*two*"


def test_spaces_stay_outside_the_markers() -> None:
    assert to_bale("a<b> b </b>c") == "a *b* c"


def test_code_and_links() -> None:
    assert to_bale('Token: <code>ab_c</code> <a href="https://ble.ir/k?start=1">open</a>') == \
        "Token: `ab_c` [open](https://ble.ir/k?start=1)"


def test_bold_italic() -> None:
    text, entities = shown_on_bale("<b><i>x</i></b>")
    assert text == "x"
    assert {e["type"] for e in entities} == {"bold", "italic"}


def test_plain_text_keeps_everything_but_tags() -> None:
    assert to_plain("<b>1 &lt; 2</b> &amp; <i>3</i>") == "1 < 2 & 3"


def test_adjacent_runs_of_one_style_merge() -> None:
    assert [r.text for r in parse("<b>a</b><b>b</b>c")] == ["ab", "c"]


def test_unknown_tags_are_text() -> None:
    assert to_plain("<u>x</u>") == "<u>x</u>"


def test_neutralise_leaves_persian_and_digits_alone() -> None:
    assert neutralise("سلام ۱۲۳ Khooshe") == "سلام ۱۲۳ Khooshe"


def test_a_deep_link_reaches_the_reader_exactly() -> None:
    link = "https://ble.ir/khooshe_test_bot?start=ab12"
    text, entities = shown_on_bale("Send this link: " + link)
    assert text == "Send this link: " + link
    assert entities == [{"type": "code", "offset": 16, "length": len(link)}]


def test_a_persian_line_that_starts_with_a_command_is_marked_right_to_left() -> None:
    text = "<b>کارهایی که می‌توانید انجام دهید</b>\n/start – منوی اصلی\n/myrank – آخرین امتیاز"
    marked = formatting.right_to_left(text, markup=True)
    assert marked.split("\n") == ["<b>کارهایی که می‌توانید انجام دهید</b>", "\u200f/start – منوی اصلی",
                                  "\u200f/myrank – آخرین امتیاز"]


def test_a_line_starting_with_a_tag_around_latin_is_marked_before_the_tag() -> None:
    marked = formatting.right_to_left("پاسخ‌ها:\n    <b>ISO 9001</b>", markup=True)
    assert marked == "پاسخ‌ها:\n\u200f    <b>ISO 9001</b>"


def test_an_english_message_is_left_as_it_is() -> None:
    text = "Your tasks:\n/dashboard – شهرک صنعتی"
    assert formatting.right_to_left(text, markup=True) == text


def test_a_line_already_marked_is_not_marked_twice() -> None:
    text = "سلام\n\u200f/start"
    assert formatting.right_to_left(text, markup=False) == text
