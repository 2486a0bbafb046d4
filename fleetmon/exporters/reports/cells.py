"""Text from the inventory is data, never a formula: how cells are made safe for spreadsheets.

An area or site name is typed by whoever keeps the inventory sheet. A spreadsheet treats a
cell starting with = + - @ (or a tab or carriage return) as a formula, so such text is written as
text: in XLSX as a string cell, in CSV with a leading single quote as OWASP recommends.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    """Text for a CSV field: a formula-like value gets a leading single quote."""
    return "'" + text if looks_like_formula(text) else text
