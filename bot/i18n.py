"""Gettext catalogs (Babel .po files under locales/, shipped in the package as bot/locales),
compiled in memory at start-up."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable, Sequence
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

# A link to the repository's locales/ (setuptools copies what it points to into a wheel).
LOCALES_DIR: Traversable = files("bot") / "locales"
LANGUAGES = ("fa", "en")
DEFAULT_LANGUAGE = "fa"
DOMAIN = "messages"


class CatalogMissing(Exception):
    """A language's catalog is not where the package keeps it: every text would show in English."""


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated later, where the reader's language is known."""
    return message


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """Returns the catalog for ``lang``; compiled from the .po file so no binary is committed."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    po_path = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.is_file():
        raise CatalogMissing(f"the {lang} catalog is missing: no {po_path}")
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def load_catalogs() -> None:
    """Compiles every language's catalog now, so a missing one stops start-up (CatalogMissing)."""
    for lang in LANGUAGES:
        translations(lang)


def pick_language(code: str | None) -> str:
    """Maps a stored or Telegram language code to one we support."""
    if code and code.split("-")[0].lower() in LANGUAGES:
        return code.split("-")[0].lower()
    return DEFAULT_LANGUAGE


class Translator:
    """The texts of one language: ``t("Hello {name}", name=...)`` translates, then fills in."""

    __slots__ = ("_gettext", "_ngettext", "lang")

    def __init__(self, lang: str) -> None:
        self.lang = pick_language(lang)
        catalog = translations(self.lang)
        self._gettext = catalog.gettext
        self._ngettext = catalog.ngettext

    def __call__(self, message: str, /, **params: object) -> str:
        text = self._gettext(message)
        return text.format(**params) if params else text

    def plural(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        text = self._ngettext(singular, plural, n)
        return text.format(n=n, **params)


@cache
def translator(lang: str | None) -> Translator:
    return Translator(pick_language(lang))


def join_words(t: Callable[..., str], items: Sequence[str]) -> str:
    """A list in the reader's language: «الف، ب و ج», "A, B and C" (the catalog's own words:
    Babel's list patterns would load a language's whole CLDR data for good)."""
    if len(items) <= 1:
        return "".join(items)
    return t("{items} and {last}", items=t(", ").join(items[:-1]), last=items[-1])
