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


def csv_text(header, rows) -> str:
    """A CSV file as text: the header as given, then each row's cells through safe_csv_cell
    (funder_metrics.csv, quarantine.csv, the portfolio's summary.csv and distribution.csv)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([safe_csv_cell(c) for c in row])
    return buf.getvalue()
