"""Catalogs complete and consistent, the translator, and no Persian hard-coded in the code."""

from __future__ import annotations

import ast
import io
import re
import string
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, N_, Translator, pick_language, translator

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def catalog(lang: str) -> Catalog:
    return load(LOCALES / lang / "LC_MESSAGES" / "messages.po", lang)


def template_ids() -> list[str | tuple[str, ...]]:
    return [m.id for m in load(POT) if m.id]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def as_tuple(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def test_template_is_not_empty() -> None:
    assert len(template_ids()) > 50


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_every_message_is_translated(lang: str) -> None:
    translated = catalog(lang)
    missing = []
    for msgid in template_ids():
        message = translated.get(msgid)
        if message is None or message.fuzzy or not all(as_tuple(message.string)):
            missing.append(msgid)
    assert missing == []


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_catalog_has_no_stale_messages(lang: str) -> None:
    wanted = set(template_ids())
    stale = [m.id for m in catalog(lang) if m.id and m.id not in wanted and not m.obsolete]
    assert stale == []


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_placeholders_match_the_msgid(lang: str) -> None:
    translated = catalog(lang)
    wrong = []
    for msgid in template_ids():
        message = translated.get(msgid)
        if message is None:
            continue
        want = set().union(*(placeholders(i) for i in as_tuple(msgid)))
        for text in as_tuple(message.string):
            if text and placeholders(text) != want:
                wrong.append((msgid, placeholders(text), want))
    assert wrong == []


def test_persian_catalog_writes_digits_in_persian() -> None:
    """Latin digits in a Persian sentence (outside {placeholders}) are a translation slip."""
    slips = []
    for message in catalog("fa"):
        if not message.id:
            continue
        for text in as_tuple(message.string):
            outside = re.sub(r"\{[^{}]*\}", "", text)
            if re.search(r"[0-9]", outside):
                slips.append(text)
    assert slips == []


def test_persian_catalog_uses_persian_yeh_and_kaf() -> None:
    slips = [m.string for m in catalog("fa") if m.id and re.search("[يك]", "".join(as_tuple(m.string)))]
    assert slips == []


def test_translator_translates_and_fills_placeholders() -> None:
    fa = Translator("fa")
    en = Translator("en")
    assert en("Hello {name}! 👋", name="Sara") == "Hello Sara! 👋"
    assert fa("Hello {name}! 👋", name="سارا") == "سلام سارا! 👋"
    assert fa("Choose your language:") == "زبان خود را انتخاب کنید:"
    assert en("Choose your language:") == "Choose your language:"


def test_translator_leaves_unknown_messages_alone() -> None:
    assert Translator("fa")("Not in any catalog {x}", x=1) == "Not in any catalog 1"
    assert Translator("fa")("Braces {stay} when no params are given") == (
        "Braces {stay} when no params are given"
    )


def test_translator_plural_fallback_fills_n() -> None:
    en = Translator("en")
    assert en.plural("{n} firm", "{n} firms", 1) == "1 firm"
    assert en.plural("{n} firm", "{n} firms", 3) == "3 firms"


def test_translator_for_unknown_language_is_persian() -> None:
    assert Translator("de").lang == "fa"
    assert translator(None).lang == "fa"
    assert translator("en-GB") is translator("en-GB")


@pytest.mark.parametrize(
    ("code", "lang"),
    [("en-US", "en"), ("en", "en"), ("EN", "en"), ("fa", "fa"), ("fa-IR", "fa"),
     ("de", "fa"), ("ar", "fa"), ("", "fa"), (None, "fa")],
)
def test_pick_language(code: str | None, lang: str) -> None:
    assert pick_language(code) == lang
    assert pick_language(code) in LANGUAGES


def test_n_marks_without_translating() -> None:
    assert N_("Manufacturing") == "Manufacturing"


# --- no Persian hard-coded in the code -----------------------------------------------------------

PERSIAN_LETTERS = re.compile("[\u0600-\u06ff]")


def docstring_starts(tree: ast.AST) -> set[tuple[int, int]]:
    starts = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                starts.add((body[0].lineno, body[0].col_offset))
    return starts


def persian_strings(source: str) -> list[tuple[int, str]]:
    """String tokens (docstrings aside) that hold Persian or Arabic letters."""
    docstrings = docstring_starts(ast.parse(source))
    string_types = {tokenize.STRING}
    for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END"):
        if hasattr(tokenize, name):
            string_types.add(getattr(tokenize, name))
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in string_types and tok.start not in docstrings \
                and PERSIAN_LETTERS.search(tok.string):
            found.append((tok.start[0], tok.string))
    return found


def test_the_detector_finds_what_it_should() -> None:
    source = (
        '"""ماژول: a docstring may be Persian."""\n'
        "# a comment may be Persian: سلام\n"
        "def f():\n"
        '    """تابع"""\n'
        '    return "سلام"\n'
        "x = 'ok'\n"
        "y = f'{x} خوشه'\n"
    )
    assert [line for line, _ in persian_strings(source)] == [5, 7]


def test_no_persian_in_code_outside_comments_and_docstrings() -> None:
    offenders = []
    for package in ("bot", "handlers", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, text in persian_strings(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {text[:60]}")
    assert offenders == []


def test_template_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "t", "-k", "N_", "-k", "plural:1,2", "--no-location", "--sort-output",
         "-o", str(out), "."],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    extracted = {m.id for m in load(out) if m.id}
    committed = set(template_ids())
    assert extracted, "extraction found no messages"
    assert sorted(map(str, extracted - committed)) == [], "run pybabel extract: new messages"
    assert sorted(map(str, committed - extracted)) == [], "run pybabel extract: stale messages"
