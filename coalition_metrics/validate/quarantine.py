"""Failing records become quarantine entries (one per failing cell), the accepted records are
what is left, and too large a share of bad rows blocks the run."""

from __future__ import annotations

from collections import Counter

from .. import dates, parsing
from .results import QuarantinedCell, TabResult


def quarantine_cells(tab: str, frame, failures, form: str, settings, results=None) -> list[QuarantinedCell]:
    """One quarantine entry per failing cell: the first failing expectation (suite order) wins.

    A cell showing a formula error is reported as that, not also as 'not a date' or 'unknown id'.
    An id that is in the other tab but on a row that was set aside says so, with that row."""
    cells: list[QuarantinedCell] = []
    seen: set[tuple] = set()
    col_index = {c: i for i, c in enumerate(frame.columns)}
    grid = form == "grid"
    # Suites list the formula-error check first, so it wins over 'not a date' for the same cell.
    # (only a failure naming another tab's ids can refer to a row set aside there)
    set_aside = _set_aside_ids(results or {}) if any(f[7] for f in failures) else {}
    failures = sorted(failures, key=lambda f: (f[0], f[1]))
    # the failing records' cells, taken once (not one frame row at a time)
    at = sorted({f[0] for f in failures})
    cells_of = dict(zip(at, frame.take(at).itertuples(index=False, name=None))) if at else {}
    for rec, _order, column, detail_column, expectation, reason, fix, ref, severity in failures:
        row = cells_of[rec]

        def cell(col):
            v = row[col_index[col]] if col in col_index else None
            return "" if v is None or v != v else str(v)

        sheet_row, scope = int(row[col_index["sheet_row"]]), "row"
        detail = cell(detail_column)
        if column == "$cell":  # row__formula_error holds "column<TAB>text"
            column, _, detail = detail.partition("\t")
        value = cell(column)
        if grid and (column in ("status", "meeting_id") or detail_column == "row__outside_membership"):
            column, value, scope = cell("sheet_column"), cell("status"), "cell"
        if (sheet_row, column) in seen:
            continue
        seen.add((sheet_row, column))
        text = reason.format(value=value, detail=detail)
        caused_by = ""
        if ref and (ref, detail) in set_aside:
            other_tab, other_row = ref.split(".")[0], set_aside[(ref, detail)]
            text = (f"{column} '{detail}' is on row {other_row} of the {other_tab} tab, which was set aside; "
                    f"fix that row and this one counts again")
            caused_by = f"{other_tab} row {other_row}"
            reason = f"refers to a row of the {other_tab} tab that was set aside"
        if detail_column.endswith("__invalid") and f"{column}__when" in col_index:
            text += _date_hint(value, settings)
        elif tab == "survey" and detail_column.endswith("__invalid"):
            text += _likert_hint(column, value, settings)
        rule = reason.replace("{value}", "…").replace("{detail}", "…")
        cells.append(QuarantinedCell(tab, sheet_row, column, value, expectation, text, fix, scope, rule, severity,
                                     caused_by))
    cells.sort(key=lambda c: (c.sheet_row, c.column, c.expectation))
    return cells


def bad_share_problem(result: TabResult, frame, max_share: float) -> str | None:
    """More than max_share of a tab set aside blocks the run. The unit is the sheet row, or for
    grid-form attendance the marked cell (one bad cell must not count as a whole member's row).

    Only rows to fix count: not superseded submissions (information) and not rows set aside because
    they refer to a row set aside in another tab (that row is the one thing to fix, and its own
    tab's share counts it)."""
    to_fix = [q for q in result.quarantined if q.to_fix]
    if result.form == "grid":
        checked, unit = len(frame), "marked cells"
        cells = {(q.sheet_row, q.column) for q in to_fix if q.scope == "cell"}
        rows = {q.sheet_row for q in to_fix if q.scope == "row"}
        bad = sum(1 for r, c in zip(frame["sheet_row"], frame["sheet_column"]) if r in rows or (r, c) in cells)
    else:
        checked, bad, unit = len(result.checked_rows), len({q.sheet_row for q in to_fix}), "rows"
    if not checked or bad / checked <= max_share:
        return None
    first_reason: dict[str, str] = {}
    for q in to_fix:
        first_reason.setdefault(q.rule, q.reason)
    common = Counter(q.rule for q in to_fix).most_common(3)
    examples = "; ".join(f"{first_reason[rule]} ({n}x)" for rule, n in common)
    return (f"Tab '{result.title}': {bad} of {checked} {unit} ({bad / checked:.0%}) failed checks, more than the "
            f"{max_share:.0%} allowed by [validation] max_bad_share. Most common: {examples}. Run "
            f"`coalition validate` for the list of rows to fix.")


def _set_aside_ids(results: dict[str, TabResult]) -> dict[tuple[str, str], int]:
    """('meetings.meeting_id', id) -> sheet row, for ids whose only rows were quarantined."""
    out: dict[tuple[str, str], int] = {}
    for name, col in (("members", "member_id"), ("meetings", "meeting_id"), ("goals", "goal_id")):
        r = results.get(name)
        if r is None or r.records is None or r.accepted is None:
            continue
        values = r.records[col]
        aside = values.notna() & ~values.isin(r.accepted[col])
        for sheet_row, value in zip(r.records["sheet_row"][aside], values[aside]):
            out.setdefault((f"{name}.{col}", value), int(sheet_row))
    return out


def accepted_records(frame, quarantined: list[QuarantinedCell]):
    """Records not set aside: a row-scope entry drops the sheet row, a cell-scope one its record."""
    import pandas as pd

    if not quarantined:  # the records as they are (a new frame: columns added to one are not the other's)
        return frame.reset_index(drop=True)
    rows = {q.sheet_row for q in quarantined if q.scope == "row"}
    cells = {(q.sheet_row, q.column) for q in quarantined if q.scope == "cell"}
    keep = ~frame["sheet_row"].isin(rows)
    if cells and "sheet_column" in frame:
        keep &= pd.Series([(r, c) not in cells for r, c in zip(frame["sheet_row"], frame["sheet_column"])],
                          index=frame.index, dtype=bool)
    return frame[keep].reset_index(drop=True)


def _likert_hint(item: str, value: str, settings) -> str:
    """An answer that is a label, but not one of this item's: say which answers the item takes."""
    it = settings.instrument.item(item)
    own = f" or one of its labels ({', '.join(it.labels)})" if it.labels else ""
    if parsing.is_likert_label(value):
        return (f" ('{value}' is a point of the 1-5 agreement scale, but {item} is answered on {it.scale_text}: "
                f"write the number{own})")
    if it.labels:
        return f" ({item} takes a number from {it.scale_text}{own})"
    return ""


def _date_hint(value: str, settings) -> str:
    """'31/12/2026' under M/D/YYYY: say that it reads as the other locale format."""
    other = "D/M/YYYY" if settings.date_format == "M/D/YYYY" else "M/D/YYYY"
    if dates.try_parse_timestamp(value, settings.date_format) is None and dates.try_parse_timestamp(value, other):
        return (f" (it reads as a {other} date; this sheet is read as {settings.date_format}: write the date "
                f"as YYYY-MM-DD, or set [source] date_format = \"{other}\" if the whole sheet uses {other})")
    return ""
