"""How a value is written into a file a spreadsheet may open: the one place for formula neutralization."""

from __future__ import annotations


def safe_csv_cell(value) -> str:
    """Neutralize spreadsheet formulas: a text cell starting with = + - @ gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
