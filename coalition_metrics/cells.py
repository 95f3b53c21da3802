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
    w.writerows(map(_safe_row, rows))
    return buf.getvalue()


_LEADING = frozenset(("=", "+", "-", "@", "\t", "\r"))


def _safe_row(row) -> list[str]:
    """safe_csv_cell of each cell, the two commonest kinds (text, floats) written inline: a funder
    file has about 9,000 cells, which a portfolio writes once per coalition."""
    out = []
    for c in row:
        kind = c.__class__
        if kind is str:
            out.append("'" + c if c[:1] in _LEADING else c)
        elif kind is float:
            out.append(float.__repr__(c))
        else:
            out.append(safe_csv_cell(c))
    return out
