"""Khooshe's one text markup, and how each platform is given it.

Everything the bot says is written in one small markup: Telegram's HTML restricted to ``<b>``,
``<i>``, ``<code>`` and ``<a href>``, with every value a user typed passed through
``html.escape`` on the way in (so a user's text is always a plain run, never markup). Telegram
receives it as it is (``parse_mode=HTML``). Bale has no ``parse_mode``: it shows every text
through its own Markdown and shows tags and entities literally, so for Bale the markup is parsed
into runs here and written as Bale Markdown, with the characters that Markdown would act on
replaced in plain runs by look-alikes, because whether Bale honours backslash escapes is not
documented.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, replace
from html.parser import HTMLParser

_STYLE_TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "code": "code", "pre": "code"}

# Characters Bale's Markdown acts on in plain text, and what is shown instead.  The look-alikes
# keep a firm named ``*ABC*`` or a usage line such as ``USER_ID [ESTATE_ID]`` readable while no
# pair of them can open bold, italic or code.
_NEUTRAL = str.maketrans({"*": "\u2217", "_": "\u02cd", "`": "\u02cb"})
_LINK_SHAPE = re.compile(r"\]\s*\(")
_URL = re.compile(r"https?://[^\s`<>]+")
_TAG = re.compile(r"<[^>]*>")
#: RIGHT-TO-LEFT MARK: an invisible strong right-to-left character.
RLM = "\u200f"


@dataclass(frozen=True)
class Run:
    """A stretch of text with one style."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str | None = None

    @property
    def plain(self) -> bool:
        return not (self.bold or self.italic or self.code or self.href)

    def same_style(self, other: Run) -> bool:
        return (self.bold, self.italic, self.code, self.href) == (other.bold, other.italic, other.code, other.href)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[Run] = []
        self._open: list[tuple[str, str | None]] = []

    def _style(self) -> Run:
        styles = {_STYLE_TAGS[tag] for tag, _ in self._open if tag != "a"}
        href = next((h for tag, h in reversed(self._open) if tag == "a"), None)
        return Run("", bold="bold" in styles, italic="italic" in styles, code="code" in styles, href=href)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open.append(("a", dict(attrs).get("href")))
        elif tag in _STYLE_TAGS:
            self._open.append((tag, None))
        else:
            self.handle_data(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i]
                return
        if tag not in _STYLE_TAGS and tag != "a":
            self.handle_data(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if data:
            self.runs.append(replace(self._style(), text=data))


def parse(markup: str) -> list[Run]:
    """The runs of a text in Khooshe's markup, adjacent runs of one style merged."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    merged: list[Run] = []
    for run in reader.runs:
        if merged and merged[-1].same_style(run):
            merged[-1] = replace(merged[-1], text=merged[-1].text + run.text)
        else:
            merged.append(run)
    return merged


def to_plain(markup: str) -> str:
    """The text a reader sees, without any styling."""
    return "".join(run.text for run in parse(markup))


def first_strong(text: str) -> str | None:
    """``"R"`` or ``"L"``: the direction of the first letter with one (digits, spaces, signs
    and emoji have none), which is how clients choose a line's direction."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "L"
        if kind in ("R", "AL"):
            return "R"
    return None


def right_to_left(text: str, *, markup: bool) -> str:
    """In a message that reads right to left (its first letter is Persian), every line whose
    first letter is Latin ("/start – منوی اصلی", "ISO 9001 …") starts with a right-to-left mark,
    so clients lay it out right to left like the rest; other messages are left as they are."""
    def visible(part: str) -> str:
        return html.unescape(_TAG.sub("", part)) if markup else part

    if first_strong(visible(text)) != "R":
        return text
    return "\n".join(RLM + line if first_strong(visible(line)) == "L" else line for line in text.split("\n"))


def neutralise(text: str) -> str:
    """A plain run that Bale's Markdown shows exactly as it is written."""
    text = text.translate(_NEUTRAL)
    if _LINK_SHAPE.search(text):
        text = text.replace("[", "\uff3b").replace("]", "\uff3d")
    return text


def to_bale(markup: str) -> str:
    """Bale Markdown for a text in Khooshe's markup: ``*bold*``, ``_italic_``, `` `code` ``,
    ``[text](url)``.  A style never spans a line break, and spaces at its edges stay outside
    its markers, since such a pair is not guaranteed to be read as one."""
    out: list[str] = []
    for run in parse(markup):
        if run.plain:
            out.append(plain_for_bale(run.text))
            continue
        lines = run.text.split("\n")
        out.append("\n".join(_styled_line(run, line) for line in lines))
    return "".join(out)


def plain_for_bale(text: str) -> str:
    """Plain text, with each bare URL in a code span: a deep link such as
    ``https://ble.ir/khooshe_bot?start=…`` must reach the reader exactly, and underscores in it
    would otherwise be read as italics (or, neutralised, no longer lead anywhere)."""
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        out.append(neutralise(text[pos:m.start()]))
        out.append(f"`{m.group(0)}`")
        pos = m.end()
    out.append(neutralise(text[pos:]))
    return "".join(out)


def _styled_line(run: Run, line: str) -> str:
    core = line.strip()
    if not core:
        return line
    lead = line[: len(line) - len(line.lstrip())]
    trail = line[len(line.rstrip()):]
    if run.code:
        body = "`" + core.replace("`", "\u02cb") + "`"
    else:
        body = neutralise(core)
        if run.italic:
            body = f"_{body}_"
        if run.bold:
            body = f"*{body}*"
    if run.href:
        target = re.sub(r"[\s()]", "", run.href)
        body = f"[{body}]({target})" if target else body
    return lead + body + trail
