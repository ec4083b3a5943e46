"""The dimension chart sent with a firm's result summary: a PNG of horizontal bars.

``render_dimension_chart`` draws the firm's 0–100 score per dimension and, when given, the estate
median beside it.  Every text arrives already translated; this module only lays it out.

Persian text.  Matplotlib 3.11 lays text out with libraqm (HarfBuzz shaping plus the Unicode
bidi algorithm), so Persian must be handed over in *logical* order: it joins the letters and
runs the line right to left itself.  Pre-shaping with arabic-reshaper and reordering with
python-bidi, as one had to for older matplotlib, would now be reversed a second time and come out
backwards.  ``visual`` (reshape, then ``bidi.get_display``) is kept for a matplotlib without
libraqm, and ``chart_text`` picks whichever the installed matplotlib needs.  For Persian the whole
chart is mirrored: labels on the right, bars growing leftwards, legend markers after their text.

The font is DejaVu Sans, which ships with matplotlib and covers the Arabic script including
پ چ ژ گ, Persian digits (U+06F0–U+06F9) and ٪.

Speed.  Only the pyplot-free object API is used (``Figure`` + ``FigureCanvasAgg``), so charts can
be drawn from worker threads.  Everything that does not depend on the firm (frame, grid, ticks,
labels, legend, title) is laid out and drawn once per process into a *template*, whose pixels
are kept; a chart restores them and draws only its bars and value labels on top (matplotlib's
blitting), then maps the pixels onto a 256-colour palette taken from a sample chart and encodes
the PNG at a low zlib level (a full-colour PNG would take three times as long).  Templates are
shared by all threads, each behind its own lock: two threads never draw into one figure at once,
and memory stays at a few templates (about 4 MB each) however many worker threads there are.
"""

from __future__ import annotations

import io
import math
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Literal, TypeAlias

from matplotlib import ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from PIL import Image

from bot.domain.text import localize_digits, number

#: Output size: 720 × 450 px (figure inches × DPI).
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 90
SCALE_MAX = 100
TICKS = (0, 25, 50, 75, 100)

FIRM_COLOR = "#2e7d32"  # Khooshe green
MEDIAN_COLOR = "#b0bec5"  # blue grey
PREVIOUS_COLOR = "#e65100"  # deep orange: last round's mark across the firm's bar
INK = "#263238"
GRID = "#e3e7ea"

DEFAULT_LEGEND = {"firm": "Your firm", "median": "Estate median", "previous": "Previous round"}

#: A bar whose value reaches this far carries its label inside, in white.
_INSIDE_FROM = 88
_LABEL_PAD = 1.2  # in score units (the axis is 0–100)
_WRAP = 18  # characters per line of a dimension label
_FONT_TITLE = FontProperties(family="DejaVu Sans", size=15, weight="bold")
_FONT_LABEL = FontProperties(family="DejaVu Sans", size=13)
_FONT_TICK = FontProperties(family="DejaVu Sans", size=11)
_FONT_VALUE = FontProperties(family="DejaVu Sans", size=12, weight="bold")
_FONT_LEGEND = FontProperties(family="DejaVu Sans", size=12)
#: Templates kept (one per language × with/without medians × set of texts), about 4 MB each.
_TEMPLATES = 8


# ---------------------------------------------------------------------------------------------
# Right-to-left text


def _has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


@lru_cache(maxsize=1024)
def visual(text: str) -> str:
    """Persian text shaped into presentation forms and reordered for display (visual order).

    What a renderer without bidi and shaping support needs: ``arabic_reshaper.reshape`` picks
    each letter's joined form, ``bidi.get_display`` reverses the right-to-left runs.  Text
    without right-to-left letters is returned unchanged.
    """
    if not _has_rtl(text):
        return text
    import arabic_reshaper
    from bidi import get_display

    shaped: str = get_display(arabic_reshaper.reshape(text))
    # The joining is now explicit in the glyphs; ZWNJ and bidi marks would only show as boxes.
    return shaped.translate({0x200C: None, 0x200D: None, 0x200E: None, 0x200F: None})


#: True when matplotlib lays text out itself (libraqm: shaping and bidi), as 3.11 does.
NATIVE_COMPLEX_TEXT = hasattr(ft2font.FT2Font, "_layout") or hasattr(ft2font, "__libraqm_version__")


def chart_text(text: str) -> str:
    """``text`` as it must be handed to matplotlib: logical order when matplotlib shapes and
    reorders text itself (3.11+), else pre-shaped in visual order (see ``visual``)."""
    return text if NATIVE_COMPLEX_TEXT else "\n".join(visual(line) for line in text.split("\n"))


def _wrap(text: str, width: int = _WRAP) -> str:
    """Breaks a label into lines of about ``width`` characters at spaces (at most two lines)."""
    if len(text) <= width:
        return text
    lines: list[str] = []
    line = ""
    words = text.split()
    for word in words:
        if line and len(line) + 1 + len(word) > width and len(lines) < 1:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Templates: the firm-independent part of a chart, drawn once, shared by all threads


class _Template:
    """A figure with its static part drawn and saved; bars and value labels are redrawn per chart."""

    def __init__(self, dims: tuple[str, ...], names: tuple[str, ...], lang: str, with_median: bool,
                 with_previous: bool, legend: tuple[str, str, str], title: str) -> None:
        self.lock = threading.Lock()
        self.rtl = lang == "fa"
        self.lang = lang
        self.with_median = with_median
        self.with_previous = with_previous
        n = len(dims)
        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white",
                     layout=ConstrainedLayoutEngine(w_pad=0.12, h_pad=0.1))
        self.fig, self.canvas = fig, FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        self.ax = ax

        ax.set_xlim((SCALE_MAX, 0) if self.rtl else (0, SCALE_MAX))  # Persian: bars grow leftwards
        ax.set_ylim(n - 0.5, -0.5)  # the first dimension on top
        ax.set_xticks(TICKS, [chart_text(localize_digits(str(v), lang)) for v in TICKS],
                      fontproperties=_FONT_TICK, color=INK)
        ax.set_yticks(range(n), [chart_text(_wrap(name)) for name in names],
                      fontproperties=_FONT_LABEL, color=INK)
        ax.tick_params(axis="both", length=0, pad=6)
        if self.rtl:
            ax.yaxis.tick_right()  # labels right of the axis, lines flush right (Persian)
        for label in ax.get_yticklabels():
            label.set_multialignment("right")
        ax.xaxis.grid(True, color=GRID, linewidth=1)
        ax.set_axisbelow(True)
        for side, spine in ax.spines.items():
            spine.set_visible(side == ("right" if self.rtl else "left"))
            spine.set_color("#90a4ae")
        ax.set_title(chart_text(title), fontproperties=_FONT_TITLE, color=INK, pad=12)

        # Bars: the firm's, and the median's just below it.  Animated artists are left out of the
        # template's pixels and drawn per chart.
        height = 0.36 if with_median else 0.56
        offset = 0.19 if with_median else 0.0
        self.firm_bars = [self._bar(i - offset, height, FIRM_COLOR) for i in range(n)]
        self.firm_values = [self._value(i - offset) for i in range(n)]
        self.median_bars: list[Rectangle] = []
        self.median_values: list[Text] = []
        if with_median:
            self.median_bars = [self._bar(i + offset, height, MEDIAN_COLOR) for i in range(n)]
            self.median_values = [self._value(i + offset) for i in range(n)]
        # Last round's score: a short upright stroke across the firm's bar.
        self.previous_marks: list[Line2D] = []
        if with_previous:
            for i in range(n):
                y = i - offset
                (mark,) = ax.plot([0, 0], [y - height / 2 - 0.06, y + height / 2 + 0.06],
                                  color=PREVIOUS_COLOR, linewidth=3, solid_capstyle="butt", animated=True)
                self.previous_marks.append(mark)

        entries: list[Patch | Line2D] = [Patch(facecolor=FIRM_COLOR, label=chart_text(legend[0]))]
        if with_median:
            entries.append(Patch(facecolor=MEDIAN_COLOR, label=chart_text(legend[1])))
        if with_previous:
            entries.append(Line2D([], [], color=PREVIOUS_COLOR, linewidth=3, label=chart_text(legend[2])))
        if self.rtl:
            entries.reverse()  # read from the right: the firm first
        fig.legend(handles=entries, loc="outside lower center", ncols=len(entries), frameon=False,
                   prop=_FONT_LEGEND, markerfirst=not self.rtl, handlelength=1.4, columnspacing=2.0,
                   labelcolor=INK)

        self.canvas.draw()  # runs the layout once and paints everything not animated
        fig.set_layout_engine("none")  # the layout is final: never recomputed
        self.background = self.canvas.copy_from_bbox(fig.bbox)
        self.renderer = self.canvas.get_renderer()
        self.size = self.canvas.get_width_height()
        # A 256-colour palette taken from a sample chart (labels inside and outside the bars):
        # mapping each chart onto it is far cheaper than a full-colour PNG and a third the size.
        self.palette: Image.Image | None = None
        sample = [95.0 if i % 2 else 40.0 for i in range(n)]
        self._draw(sample, sample[::-1] if with_median else None, sample[::-1] if with_previous else None)
        self.palette = self._rgb().quantize(colors=256, method=Image.Quantize.FASTOCTREE)

    def _bar(self, y: float, height: float, color: str) -> Rectangle:
        bar = Rectangle((0, y - height / 2), 0, height, facecolor=color, edgecolor="none",
                        animated=True)
        self.ax.add_patch(bar)
        return bar

    def _value(self, y: float) -> Text:
        return self.ax.text(0, y, "", va="center", fontproperties=_FONT_VALUE, animated=True)

    def _place(self, bar: Rectangle, label: Text, value: float | None, dark_text: str) -> None:
        if value is None:
            bar.set_visible(False)
            label.set_visible(False)
            return
        bar.set_visible(True)
        bar.set_width(value)
        label.set_visible(True)
        label.set_text(chart_text(number(round(value), self.lang)))
        # Outside the bar's end, or inside it (in white) for a bar that nearly fills the axis.
        # The Persian axis runs 100 → 0, so "beyond the end" is on the left there.
        inside = value >= _INSIDE_FROM
        x = value - _LABEL_PAD if inside else value + _LABEL_PAD
        towards_zero: Literal["left", "right"] = "right" if not self.rtl else "left"
        away: Literal["left", "right"] = "left" if not self.rtl else "right"
        label.set_x(x)
        label.set_horizontalalignment(towards_zero if inside else away)
        label.set_color("white" if inside else dark_text)

    def _draw(self, values: Sequence[float | None], medians: Sequence[float | None] | None,
              previous: Sequence[float | None] | None = None) -> None:
        self.canvas.restore_region(self.background)
        artists: list[Rectangle | Text | Line2D] = []
        for bar, label, value in zip(self.firm_bars, self.firm_values, values, strict=True):
            self._place(bar, label, value, INK)
            artists += (bar, label)
        if self.with_median:
            for bar, label, value in zip(self.median_bars, self.median_values, medians or (), strict=True):
                self._place(bar, label, value, "#546e7a")
                artists += (bar, label)
        if self.with_previous:
            for mark, value in zip(self.previous_marks, previous or (), strict=True):
                mark.set_visible(value is not None)
                if value is not None:
                    mark.set_xdata([value, value])
                artists.append(mark)
        for artist in artists:
            if artist.get_visible():
                artist.draw(self.renderer)

    def _rgb(self) -> Image.Image:
        return Image.frombuffer("RGBA", self.size, self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")

    def render(self, values: Sequence[float | None], medians: Sequence[float | None] | None,
               previous: Sequence[float | None] | None = None) -> bytes:
        self._draw(values, medians, previous)
        image = self._rgb()
        if self.palette is not None:
            image = image.quantize(palette=self.palette, dither=Image.Dither.NONE)
        out = io.BytesIO()
        # zlib level 1: several times faster than the default, still far below the size budget.
        image.save(out, format="PNG", compress_level=1)
        return out.getvalue()


#: dimension ids, their labels, the language, with a median?, with last round?, the legend, the title.
_Key: TypeAlias = tuple[tuple[str, ...], tuple[str, ...], str, bool, bool, tuple[str, str, str], str]
_templates: OrderedDict[_Key, _Template] = OrderedDict()
_templates_lock = threading.Lock()


def _template(key: _Key) -> _Template:
    with _templates_lock:
        template = _templates.get(key)
        if template is None:
            dims, names, lang, with_median, with_previous, legend, title = key
            template = _Template(dims, names, lang, with_median, with_previous, legend, title)
            _templates[key] = template
            if len(_templates) > _TEMPLATES:
                _templates.popitem(last=False)
        else:
            _templates.move_to_end(key)
        return template


def _clamp(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    return min(float(SCALE_MAX), max(0.0, value))


def render_dimension_chart(
    scores: Mapping[str, float],
    estate_median: Mapping[str, float] | None,
    labels: Mapping[str, str],
    lang: str,
    *,
    title: str,
    legend: Mapping[str, str] | None = None,
    previous: Mapping[str, float] | None = None,
) -> bytes:
    """A PNG (720 × 450 px) of the firm's score per dimension, 0–100, with the estate median
    beside each bar when ``estate_median`` is given (None: the group is too small to show).

    ``labels`` maps dimension ids to their titles and sets the order of the bars; dimensions of
    ``scores`` it does not name come last, under their ids.  ``legend`` holds the translated
    legend texts under ``"firm"``, ``"median"`` and ``"previous"``; ``previous`` (the firm's
    scores in its previous published round) adds a mark across each bar where it stood then.  Numbers are shown with Persian digits for
    ``lang == "fa"``, and the chart is then laid out right to left.  All texts arrive translated
    (see ``bot.domain.summary.chart_labels``).  Safe to call from several threads at once.
    """
    dims = [d for d in labels if d in scores] + [d for d in scores if d not in labels]
    if not dims:
        raise ValueError("no dimension scores to chart")
    legend = {**DEFAULT_LEGEND, **(legend or {})}
    with_median = estate_median is not None
    with_previous = previous is not None and any(d in previous for d in dims)
    key: _Key = (
        tuple(dims),
        tuple(labels.get(d, d) for d in dims),
        "fa" if lang == "fa" else "en",
        with_median,
        with_previous,
        (legend["firm"], legend["median"], legend["previous"]),
        title,
    )
    values = [_clamp(scores[d]) for d in dims]
    medians = [_clamp(estate_median.get(d)) for d in dims] if estate_median is not None else None
    before = [_clamp(previous.get(d)) for d in dims] if previous is not None and with_previous else None
    template = _template(key)
    with template.lock:  # one chart at a time per figure
        return template.render(values, medians, before)
