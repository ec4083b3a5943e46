"""The dimension chart: a small valid PNG in both languages, Persian shaped and right to left."""

from __future__ import annotations

import io
import struct
import threading

import pytest
from PIL import Image

from bot.domain import charts
from bot.domain.charts import chart_text, render_dimension_chart, visual

LABELS = {
    "fa": {"tech": "فناوری", "quality": "استاندارد و کیفیت", "export": "صادرات",
           "innovation": "نوآوری و رقابت‌پذیری"},
    "en": {"tech": "Technology adoption", "quality": "Standards and quality",
           "export": "Export orientation", "innovation": "Innovation and competitiveness"},
}
LEGEND = {"fa": {"firm": "بنگاه شما", "median": "میانه شهرک", "previous": "دور قبل"},
          "en": {"firm": "Your firm", "median": "Estate median", "previous": "Previous round"}}
TITLE = {"fa": "امتیاز در هر حوزه (از ۱۰۰)", "en": "Scores by area (out of 100)"}
SCORES = {"tech": 82.4, "quality": 95.0, "export": 12.5, "innovation": 0.0}
MEDIANS = {"tech": 61.7, "quality": 60.0, "export": 35.0, "innovation": 48.0, "composite": 50.0}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


PREVIOUS = {"tech": 70.0, "quality": 80.0, "export": 30.0}


def chart(lang: str, medians: dict[str, float] | None = MEDIANS, scores: dict[str, float] = SCORES,
          previous: dict[str, float] | None = None) -> bytes:
    return render_dimension_chart(scores, medians, LABELS[lang], lang, title=TITLE[lang],
                                  legend=LEGEND[lang], previous=previous)


def orange_pixels(data: bytes) -> int:
    """How many pixels are close to the previous-round mark's colour."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 16) or []
    return sum(count for count, (r, g, b) in colours if r > 200 and 60 < g < 110 and b < 40)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("lang", ["fa", "en"])
@pytest.mark.parametrize("medians", [MEDIANS, None])
def test_chart_is_a_small_valid_png(lang: str, medians: dict[str, float] | None) -> None:
    data = chart(lang, medians)
    assert data.startswith(PNG_SIGNATURE)
    assert 2_000 < len(data) < 60_000
    width, height = png_size(data)
    assert 400 <= width <= 800 and 250 <= height <= 500
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes: the data is complete and consistent
    assert image.size == (width, height)


def test_medians_change_the_picture() -> None:
    assert chart("en", MEDIANS) != chart("en", None)
    assert chart("fa", MEDIANS) != chart("en", MEDIANS)
    assert chart("en", scores={**SCORES, "tech": 10.0}) != chart("en")


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_last_rounds_scores_are_marked_across_the_bars(lang: str) -> None:
    assert orange_pixels(chart(lang)) == 0
    assert orange_pixels(chart(lang, previous=PREVIOUS)) > 100


def test_a_chart_without_last_round_keeps_no_mark_of_one_drawn_before() -> None:
    first = chart("en", previous=None)
    chart("en", previous=PREVIOUS)
    assert chart("en", previous=None) == first


def test_same_input_gives_the_same_png() -> None:
    """The template is reused: nothing of a previous chart may survive into the next one."""
    first = chart("fa")
    chart("fa", scores={d: 100.0 for d in SCORES})
    assert chart("fa") == first


def test_charts_from_several_threads_match() -> None:
    expected = {lang: chart(lang) for lang in ("fa", "en")}
    results: list[tuple[str, bytes]] = []

    def work(lang: str) -> None:
        for _ in range(3):
            results.append((lang, chart(lang)))

    threads = [threading.Thread(target=work, args=(lang,)) for lang in ("fa", "en", "fa", "en")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 12
    assert all(data == expected[lang] for lang, data in results)


def test_out_of_range_and_missing_values_are_tolerated() -> None:
    data = render_dimension_chart({"tech": 130.0, "quality": -5.0, "export": float("nan"),
                                   "extra": 40.0}, {"tech": 50.0}, LABELS["en"], "en", title="t")
    assert data.startswith(PNG_SIGNATURE)
    with pytest.raises(ValueError):
        render_dimension_chart({}, None, LABELS["en"], "en", title="t")


def template(lang: str, medians: dict[str, float] | None = MEDIANS) -> charts._Template:
    chart(lang, medians)
    # The one just drawn is the most recently used (other tests leave templates of their own).
    return next(t for key, t in reversed(charts._templates.items())
                if key[2] == lang and key[3] is (medians is not None))


def test_persian_chart_uses_persian_digits_and_runs_right_to_left() -> None:
    fa = template("fa")
    ticks = [label.get_text() for label in fa.ax.get_xticklabels()]
    assert ticks == [chart_text(v) for v in ("۰", "۲۵", "۵۰", "۷۵", "۱۰۰")]
    assert fa.ax.get_xlim() == (100, 0)  # bars grow leftwards
    assert fa.ax.yaxis.get_ticks_position() == "right"
    values = [label.get_text() for label in fa.firm_values]
    assert values == [chart_text(v) for v in ("۸۲", "۹۵", "۱۲", "۰")]
    en = template("en")
    assert [label.get_text() for label in en.ax.get_xticklabels()] == ["0", "25", "50", "75", "100"]
    assert en.ax.get_xlim() == (0, 100)


def test_visual_shapes_persian_into_presentation_forms_in_visual_order() -> None:
    # پژوهش: peh initial, jeh final, waw isolated, heh initial, sheen final; reversed for display.
    assert visual("پژوهش") == "\ufeb6\ufeeb\ufeed\ufb8b\ufb58"
    assert visual("گچ") == "\ufb7b\ufb94"  # gaf initial, tcheh final, reversed
    assert visual("سلام") == "\ufee1\ufefc\ufeb3"  # the lam-alef ligature
    assert "\u200c" not in visual("رقابت‌پذیری")
    assert visual("Export orientation") == "Export orientation"
    assert visual("ISO 9001") == "ISO 9001"


def test_chart_text_hands_matplotlib_logical_order() -> None:
    """Matplotlib 3.11 (the pinned version) shapes and reorders text itself (libraqm); pre-shaped
    text would come out reversed, so it gets logical order."""
    assert charts.NATIVE_COMPLEX_TEXT
    text = "نوآوری و\nرقابت‌پذیری"
    assert chart_text(text) == text


def test_chart_text_without_libraqm_is_the_visual_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """A matplotlib that does not lay text out itself gets each line pre-shaped, visual order."""
    monkeypatch.setattr(charts, "NATIVE_COMPLEX_TEXT", False)
    text = "نوآوری و\nرقابت‌پذیری"
    assert chart_text(text) == visual("نوآوری و") + "\n" + visual("رقابت‌پذیری")


def test_matplotlib_lays_out_persian_itself() -> None:
    """Guards the choice above: with libraqm, the first glyph of a right-to-left word laid out
    by matplotlib is its last letter (the text is reordered by matplotlib, not by us)."""
    assert charts.NATIVE_COMPLEX_TEXT
    from matplotlib import _text_helpers
    from matplotlib.font_manager import findfont, get_font

    font = get_font(findfont(charts._FONT_LABEL))
    font.set_size(12, 72)
    logical = [item.char for item in _text_helpers.layout("بم", font)]
    assert logical[0] == "م"


def test_long_labels_wrap() -> None:
    assert charts._wrap("Innovation and competitiveness") == "Innovation and\ncompetitiveness"
    assert charts._wrap("Export orientation") == "Export orientation"
