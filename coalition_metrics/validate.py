"""Validate: match headers, derive checked columns, run the Great Expectations suites per tab.

Blocking problems (a required tab missing, a tab with no header, a missing required column, a
required tab with no rows, more than ``max_bad_share`` of a tab's rows quarantined) stop the run
with a message that names the tab, the column and the fix. Row-level failures are quarantined with
tab, sheet row, column, value, the expectation that failed and a sentence; the run goes on.

The suites (expectations/<tab>.json, Great Expectations 1.x suite JSON) run against a frame with
one row per non-blank sheet row and these columns:
- ``sheet_row`` and every contract column as trimmed text (None when blank);
- ``<col>__value``: the parsed value of a date, timestamp, number, Likert or enumerated column
  (dates as ISO text, enumerations case-folded), None when blank or unparseable;
- ``<col>__invalid``: the cell text when it is not blank but cannot be parsed, else None;
- ``<col>__when``: date and timestamp columns as datetimes, for the plausible-range checks;
- ``row__formula_error``: ``column<TAB>text`` of the first cell showing a spreadsheet error
  (#REF!, #N/A, ...); the suite's ``"column": "$cell"`` names that cell's column;
- ``row__repeat``: for a repeated unique key, the sheet row of its first occurrence;
- survey only: ``respondent__unknown`` (respondent text that matches no member) and
  ``row__superseded`` (the sheet row of the same member's later submission in the wave).
A kwarg written ``{"$ref": "members.member_id"}`` is replaced by the accepted ids of that tab,
``{"$ref": "scale.trust.min"}`` by the item's scale (Settings.item_scale), ``{"$ref": "run.today"}`` by the end of the day the
validation runs (so "not in the future" means not after that day) and ``{"$date": "1990-01-01"}``
by that date.

Attendance in grid form (one row per member, one column per meeting id or meeting date, cells
P/A/E, TRUE/FALSE, yes/no, x or blank) becomes one record per marked cell with ``sheet_column``
(the header) and the same columns as the long form; a cell that cannot be read is quarantined on
its own (scope ``cell``), a row whose member is unknown or repeated is quarantined whole.
A blank grid cell is no record, so an expected member counts as absent (DESIGN.md).

Each sheet row is counted once: rows read = blank + accepted + quarantined, where a quarantined
row is one with at least one quarantined cell.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from . import dates, parsing
from .config import PROJECT_ROOT
from .contract import ENUMS, REQUIRED_TABS, UNIQUE_KEYS, Column, columns_of, headers_of
from .errors import BlockingValidationError
from .quarters import Quarter
from .sources import RawTab, column_letter

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
TAB_ORDER = ("members", "meetings", "goals", "attendance", "tasks", "goal_measurements", "survey", "milestones")
# What a cell shows when its formula fails (Google Sheets and Excel), case-folded.
FORMULA_ERRORS = frozenset(
    {"#ref!", "#n/a", "#value!", "#div/0!", "#name?", "#num!", "#null!", "#error!", "#spill!", "#calc!",
     "#getting_data", "loading..."}
)
# Grid columns that describe the member rather than a meeting.
GRID_MEMBER_HEADERS = frozenset({"member_id", "member id", "organization", "organisation", "name", "member",
                                 "sector", "size_tier", "size tier", "role", "notes", "note", "comments"})


@dataclass
class QuarantinedCell:
    tab: str
    sheet_row: int
    column: str
    value: str
    expectation: str
    reason: str
    fix: str = ""
    scope: str = "row"  # "row": the whole sheet row is set aside; "cell": one grid cell only
    rule: str = ""  # the suite's reason with its placeholders, to group entries by what failed

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class TabResult:
    tab: str
    title: str
    present: bool
    rows_read: int = 0  # data rows in the sheet, blank ones included
    blank_rows: list[int] = field(default_factory=list)  # sheet rows of the wholly blank rows
    accepted_rows: list[int] = field(default_factory=list)  # sheet rows kept
    quarantined: list[QuarantinedCell] = field(default_factory=list)
    column_map: dict[str, int] = field(default_factory=dict)  # contract column -> header index
    form: str = "long"  # attendance may be "grid"
    checked_rows: list[int] = field(default_factory=list)  # non-blank sheet rows
    records: Any = None  # pandas DataFrame of every checked record (quarantined ones included)
    checks: list[dict] = field(default_factory=list)  # each expectation run: type, column, rule, failing records
    accepted: Any = None  # pandas DataFrame of accepted records (contract columns + derived)

    @property
    def rows_blank(self) -> int:
        return len(self.blank_rows)

    @property
    def rows_quarantined(self) -> int:
        return len({q.sheet_row for q in self.quarantined})

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted_rows)

    @property
    def cells_quarantined(self) -> int:
        return sum(1 for q in self.quarantined if q.scope == "cell")


@dataclass
class ValidationResult:
    tabs: dict[str, TabResult]
    validated_on: date | None = None  # the day "not in the future" was checked against

    @property
    def quarantined(self) -> list[QuarantinedCell]:
        return [q for t in self.tabs.values() for q in t.quarantined]

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            name: {
                "rows_read": t.rows_read,
                "rows_blank": t.rows_blank,
                "rows_accepted": t.rows_accepted,
                "rows_quarantined": t.rows_quarantined,
                **({"cells_quarantined": t.cells_quarantined} if t.form == "grid" else {}),
            }
            for name, t in self.tabs.items()
        }


# ----------------------------------------------------------------------------------------------
def validate_snapshot(tabs: dict[str, RawTab], settings, today: date | None = None) -> ValidationResult:
    """Validate every tab; raise BlockingValidationError listing every blocking problem.

    ``today`` is the day the checks treat as now ("measured_on not in the future")."""
    today = today or date.today()
    problems: list[str] = []
    results: dict[str, TabResult] = {}
    frames: dict[str, Any] = {}

    for name in TAB_ORDER:
        raw = tabs.get(name) or RawTab(name, settings.tabs[name], present=False)
        result, frame, tab_problems = _prepare(raw, settings)
        results[name] = result
        problems += tab_problems
        if frame is not None:
            frames[name] = frame
    if problems:
        raise BlockingValidationError(problems)

    context = _gx_context()
    for name in TAB_ORDER:
        if name not in frames:
            continue
        frame = frames[name]
        result = results[name]
        if name == "survey":
            _derive_survey(frame, results, settings)
        if name == "attendance" and result.form == "grid":
            _resolve_grid(frame, results, settings)
        suite = load_suite(name, results, settings, today)
        failures, result.checks = _run_suite(context, name, frame, suite)
        result.quarantined = _quarantine(name, frame, failures, result.form, settings, results)
        result.records = frame
        result.accepted = _accepted(frame, result.quarantined)
        bad = {q.sheet_row for q in result.quarantined}
        result.accepted_rows = [r for r in result.checked_rows if r not in bad]
        problem = _bad_share_problem(result, frame, settings.max_bad_share)
        if problem:
            problems.append(problem)
    if problems:
        raise BlockingValidationError(problems, ValidationResult(results, today))
    return ValidationResult(results, today)


def _quarantine(tab: str, frame, failures, form: str, settings, results=None) -> list[QuarantinedCell]:
    """One quarantine entry per failing cell: the first failing expectation (suite order) wins.

    A cell showing a formula error is reported as that, not also as 'not a date' or 'unknown id'.
    An id that is in the other tab but on a row that was set aside says so, with that row."""
    cells: list[QuarantinedCell] = []
    seen: set[tuple] = set()
    col_index = {c: i for i, c in enumerate(frame.columns)}
    grid = form == "grid"
    # Suites list the formula-error check first, so it wins over 'not a date' for the same cell.
    set_aside = _set_aside_ids(results or {})
    for rec, _order, column, detail_column, expectation, reason, fix, ref in sorted(failures, key=lambda f: (f[0], f[1])):
        row = frame.iloc[rec]

        def cell(col):
            v = row.iloc[col_index[col]] if col in col_index else None
            return "" if v is None or v != v else str(v)

        sheet_row, scope = int(row.iloc[col_index["sheet_row"]]), "row"
        detail = cell(detail_column)
        if column == "$cell":  # row__formula_error holds "column<TAB>text"
            column, _, detail = detail.partition("\t")
        value = cell(column)
        if grid and column in ("status", "meeting_id"):
            column, value, scope = cell("sheet_column"), cell("status"), "cell"
        if (sheet_row, column) in seen:
            continue
        seen.add((sheet_row, column))
        text = reason.format(value=value, detail=detail)
        if ref and (ref, detail) in set_aside:
            other_tab, other_row = ref.split(".")[0], set_aside[(ref, detail)]
            text = (f"{column} '{detail}' is on row {other_row} of the {other_tab} tab, which was set aside; "
                    f"fix that row and this one counts again")
        if detail_column.endswith("__invalid") and f"{column}__when" in col_index:
            text += _date_hint(value, settings)
        rule = reason.replace("{value}", "…").replace("{detail}", "…")
        cells.append(QuarantinedCell(tab, sheet_row, column, value, expectation, text, fix, scope, rule))
    cells.sort(key=lambda c: (c.sheet_row, c.column, c.expectation))
    return cells


def _bad_share_problem(result: TabResult, frame, max_share: float) -> str | None:
    """More than max_share of a tab set aside blocks the run. The unit is the sheet row, or for
    grid-form attendance the marked cell (one bad cell must not count as a whole member's row)."""
    if result.form == "grid":
        checked, bad, unit = len(frame), len(frame) - len(result.accepted), "marked cells"
    else:
        checked, bad, unit = len(result.checked_rows), result.rows_quarantined, "rows"
    if not checked or bad / checked <= max_share:
        return None
    first_reason: dict[str, str] = {}
    for q in result.quarantined:
        first_reason.setdefault(q.rule, q.reason)
    common = Counter(q.rule for q in result.quarantined).most_common(3)
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
        accepted = set(r.accepted[col])
        for sheet_row, value in zip(r.records["sheet_row"], r.records[col]):
            if value is not None and value not in accepted:
                out.setdefault((f"{name}.{col}", value), int(sheet_row))
    return out


def _accepted(frame, quarantined: list[QuarantinedCell]):
    """Records not set aside: a row-scope entry drops the sheet row, a cell-scope one its record."""
    import pandas as pd

    rows = {q.sheet_row for q in quarantined if q.scope == "row"}
    cells = {(q.sheet_row, q.column) for q in quarantined if q.scope == "cell"}
    keep = ~frame["sheet_row"].isin(rows)
    if cells and "sheet_column" in frame:
        keep &= pd.Series([(r, c) not in cells for r, c in zip(frame["sheet_row"], frame["sheet_column"])],
                          index=frame.index, dtype=bool)
    return frame[keep].reset_index(drop=True)


def _date_hint(value: str, settings) -> str:
    """'31/12/2026' under M/D/YYYY: say that it reads as the other locale format."""
    other = "D/M/YYYY" if settings.date_format == "M/D/YYYY" else "M/D/YYYY"
    if dates.try_parse_timestamp(value, settings.date_format) is None and dates.try_parse_timestamp(value, other):
        return (f" (it reads as a {other} date; this sheet is read as {settings.date_format}: write the date "
                f"as YYYY-MM-DD, or set [source] date_format = \"{other}\" if the whole sheet uses {other})")
    return ""


# ----------------------------------------------------------------------------------------------
def _prepare(raw: RawTab, settings):
    """Match headers, count blank rows, build the frame with derived columns (no GX yet)."""
    import pandas as pd

    name, title = raw.name, raw.title
    result = TabResult(name, title, raw.present)
    problems: list[str] = []
    if not raw.present:
        if name in REQUIRED_TABS:
            problems.append(
                f"Tab '{title}' is missing. Add a tab named '{title}' (or set [tabs] {name} in the "
                f"config to the tab's actual name)."
            )
        return result, None, problems
    result.rows_read = len(raw.rows)
    if not any(h.strip() for h in raw.header):
        problems.append(
            f"Tab '{title}' is empty: it has no header row. Put the column names in row 1 "
            f"({', '.join(headers_of(name, settings).values())})."
        )
        return result, None, problems

    columns = columns_of(name, settings)
    expected = headers_of(name, settings)
    found: dict[str, int] = {}
    for i, h in enumerate(raw.header):
        found.setdefault(parsing.norm_key(h), i)
    if name == "attendance" and _is_grid(found):
        return _prepare_grid(raw, result, found, settings)
    for col in columns:
        idx = found.get(parsing.norm_key(expected[col.name]))
        if idx is not None:
            result.column_map[col.name] = idx
        elif col.required:
            close = difflib.get_close_matches(
                parsing.norm_key(expected[col.name]), [parsing.norm_key(h) for h in raw.header if h.strip()], n=1, cutoff=0.6
            )
            hint = f" The tab has a column '{_original(raw.header, close[0])}': rename it to '{expected[col.name]}'." if close else ""
            what = "question" if name == "survey" and col.kind == "likert" else "required column"
            problems.append(
                f"Tab '{title}' has no {what} '{expected[col.name]}' (header row 1).{hint} "
                f"Add the column, or map it in the config."
            )
    if name == "survey":
        # A mapped question missing from the sheet is blocking (DESIGN.md, survey items).
        for col in columns:
            if col.kind == "likert" and col.name not in result.column_map:
                problems.append(
                    f"Tab '{title}' has no column for survey item '{col.name}': expected the question "
                    f"'{expected[col.name]}'. Rename the column or set [survey_items] {col.name} to the "
                    f"question text the sheet uses."
                )
    if problems:
        header_row = _header_further_down(raw, columns, expected)
        if header_row:
            problems = [
                f"Tab '{title}': the column names are in sheet row {header_row}, not row 1 (row 1 looks "
                f"like a title, often merged cells). Delete the rows above the column names so that "
                f"they are in row 1."
            ]
        return result, None, _unique(problems)

    records = []
    for sheet_row, cells in _non_blank_rows(raw, result):
        rec: dict[str, Any] = {"sheet_row": sheet_row, "row__formula_error": None}
        for col in columns:
            idx = result.column_map.get(col.name)
            text = cells[idx].strip() if idx is not None and idx < len(cells) else ""
            rec[col.name] = text or None
            if text.casefold() in FORMULA_ERRORS:
                rec["row__formula_error"] = rec["row__formula_error"] or f"{col.name}\t{text}"
            _derive(rec, col, text, settings)
        records.append(rec)
    if name in REQUIRED_TABS and not records:
        problems.append(_no_rows(title))
        return result, None, problems
    frame = pd.DataFrame.from_records(records, columns=_frame_columns(columns))
    _add_when_columns(frame, columns)
    _mark_repeats(frame, name)
    return result, frame, problems


def _non_blank_rows(raw: RawTab, result: TabResult):
    """The rows to check; wholly blank rows are skipped and counted (DESIGN.md, data contract)."""
    for sheet_row, cells in raw.rows:
        if not any(str(c).strip() for c in cells):
            result.blank_rows.append(sheet_row)
            continue
        result.checked_rows.append(sheet_row)
        yield sheet_row, cells


def _no_rows(title: str) -> str:
    return (f"Tab '{title}' has a header but no rows. Fill in the tab (or point [source] location at "
            f"the right spreadsheet).")


def _header_further_down(raw: RawTab, columns: list[Column], expected: dict[str, str]) -> int | None:
    """The sheet row (2..6) that holds all required headers when row 1 does not, else None."""
    required = {parsing.norm_key(expected[c.name]) for c in columns if c.required}
    for sheet_row, cells in raw.rows[:5]:
        if required <= {parsing.norm_key(c) for c in cells}:
            return sheet_row
    return None


def _is_grid(found: dict[str, int]) -> bool:
    """Attendance with a member column but neither meeting_id nor status is the grid form."""
    has_member = "member_id" in found or "organization" in found
    return has_member and "meeting_id" not in found and "status" not in found


def _prepare_grid(raw: RawTab, result: TabResult, found: dict[str, int], settings):
    """One record per non-blank meeting cell; meeting headers are resolved after meetings validate."""
    import pandas as pd

    result.form = "grid"
    member_col = found.get("member_id", found.get("organization"))
    result.column_map["member_id"] = member_col
    meeting_cols = [
        (i, h.strip()) for i, h in enumerate(raw.header)
        if i != member_col and parsing.norm_key(h) not in GRID_MEMBER_HEADERS
    ]
    records = []
    for sheet_row, cells in _non_blank_rows(raw, result):
        member = cells[member_col].strip() if member_col < len(cells) else ""
        for i, header in meeting_cols:
            text = cells[i].strip() if i < len(cells) else ""
            if not text:
                continue  # no mark: absent if the member was expected
            records.append({
                "sheet_row": sheet_row,
                "sheet_column": header or f"column {column_letter(i)}",
                "meeting_id": header or None,
                "member_id": member or None,
                "member__text": member or None,
                "status": text,
                "status__value": parsing.attendance_mark(text) or parsing.enum_value(text),
                "row__formula_error": f"status\t{text}" if text.casefold() in FORMULA_ERRORS else None,
            })
    problems = []
    if not result.checked_rows:
        problems.append(_no_rows(raw.title))
        return result, None, problems
    frame = pd.DataFrame.from_records(records, columns=[
        "sheet_row", "sheet_column", "meeting_id", "member_id", "member__text", "status", "status__value",
        "row__formula_error",
    ])
    return result, frame, problems


def _resolve_grid(frame, results: dict[str, TabResult], settings) -> None:
    """Meeting headers -> meeting ids (by id, else by date); member text -> member id; repeats."""
    meetings = results["meetings"].accepted
    ids = set(meetings["meeting_id"]) if meetings is not None else set()
    by_date: dict[str, list[str]] = {}
    if meetings is not None:
        for mid, day in zip(meetings["meeting_id"], meetings["date__value"]):
            by_date.setdefault(day, []).append(mid)
    resolved, problem = {}, {}
    for header in frame["sheet_column"].unique():
        if header in ids:
            resolved[header] = header
            continue
        day = dates.try_parse_date(header, settings.date_format)
        on_day = sorted(by_date.get(day.isoformat(), [])) if day else []
        if len(on_day) == 1:
            resolved[header] = on_day[0]
        elif on_day:
            problem[header] = (f"column '{header}' is a date with {len(on_day)} meetings ({', '.join(on_day)}); "
                               f"use meeting ids as column headers")
        elif day:
            problem[header] = f"column '{header}': the meetings tab has no meeting on {day.isoformat()}"
        else:
            problem[header] = f"column '{header}' is neither a meeting id nor a meeting date in the meetings tab"
    frame["meeting_id"] = [resolved.get(h, h) for h in frame["sheet_column"]]
    frame["grid__meeting"] = [problem.get(h) for h in frame["sheet_column"]]
    lookup = _member_lookup(results)
    member_ids = [lookup.get(parsing.norm_key(t), t) if t else None for t in frame["member__text"]]
    frame["member_id"] = member_ids
    first: dict[str, int] = {}
    repeats = []
    for sheet_row, mid in zip(frame["sheet_row"], member_ids):
        if mid is None:
            repeats.append(None)
            continue
        first.setdefault(mid, sheet_row)
        repeats.append(None if first[mid] == sheet_row else f"repeats row {first[mid]}")
    frame["row__repeat"] = repeats


def _member_lookup(results: dict[str, TabResult]) -> dict[str, str]:
    """Case-folded member id or organization name -> member id, from the accepted members."""
    members = results["members"].accepted
    lookup: dict[str, str] = {}
    if members is not None:
        for mid, org in zip(members["member_id"], members["organization"]):
            lookup.setdefault(parsing.norm_key(mid), mid)
            if org:
                lookup.setdefault(parsing.norm_key(org), mid)
    return lookup


def _add_when_columns(frame, columns: list[Column]) -> None:
    import pandas as pd

    for col in columns:
        if col.kind in ("date", "timestamp"):
            frame[f"{col.name}__when"] = pd.to_datetime(frame[f"{col.name}__value"], format="ISO8601")


def _frame_columns(columns: list[Column]) -> list[str]:
    out = ["sheet_row", "row__formula_error"]
    for col in columns:
        out.append(col.name)
        if col.kind in ("date", "timestamp", "number", "likert", "enum"):
            out.append(f"{col.name}__value")
        if col.kind in ("date", "timestamp", "number", "likert"):
            out.append(f"{col.name}__invalid")
    return out


def _derive(rec: dict[str, Any], col: Column, text: str, settings) -> None:
    fmt = settings.date_format
    if col.kind == "enum":
        rec[f"{col.name}__value"] = parsing.enum_value(text)
        return
    if col.kind not in ("date", "timestamp", "number", "likert"):
        return
    value = None
    if text:
        if col.kind == "date":
            d = dates.try_parse_date(text, fmt)
            value = d.isoformat() if d else None
        elif col.kind == "timestamp":
            ts = dates.try_parse_timestamp(text, fmt)
            value = ts.isoformat(sep=" ") if ts else None
        elif col.kind == "number":
            value = parsing.parse_number(text)
        else:
            value = parsing.parse_likert(text)
    rec[f"{col.name}__value"] = value
    rec[f"{col.name}__invalid"] = text if text and value is None else None


def _mark_repeats(frame, tab: str) -> None:
    key = UNIQUE_KEYS.get(tab)
    frame["row__repeat"] = None
    if not key or frame.empty:
        return
    first: dict[tuple, int] = {}
    repeats = []
    for row in frame[["sheet_row", *key]].itertuples(index=False):
        k = tuple(row[1:])
        if any(v is None for v in k):
            repeats.append(None)
            continue
        if k in first:
            repeats.append(f"repeats row {first[k]}")
        else:
            first[k] = row[0]
            repeats.append(None)
    frame["row__repeat"] = repeats


def _derive_survey(frame, results: dict[str, TabResult], settings) -> None:
    """Match respondents to members and mark superseded submissions (the latest in a wave counts)."""
    frame["respondent__member_id"] = None
    frame["respondent__unknown"] = None
    frame["row__superseded"] = None
    if "respondent" not in results["survey"].column_map:
        return  # anonymous survey
    lookup = _member_lookup(results)
    ids, unknown = [], []
    for text in frame["respondent"]:
        mid = lookup.get(parsing.norm_key(text)) if text else None
        ids.append(mid)
        unknown.append(text if text and mid is None else None)
    frame["respondent__member_id"] = ids
    frame["respondent__unknown"] = unknown
    fs = settings.fiscal_year_start_month
    latest: dict[tuple, tuple] = {}
    for sheet_row, mid, ts in zip(frame["sheet_row"], frame["respondent__member_id"], frame["timestamp__value"]):
        if mid is None or ts is None:
            continue
        wave = Quarter.of(dates.parse_date(ts), fs).label
        cur = latest.get((mid, wave))
        if cur is None or (ts, sheet_row) > cur:
            latest[(mid, wave)] = (ts, sheet_row)
    superseded = []
    for sheet_row, mid, ts in zip(frame["sheet_row"], frame["respondent__member_id"], frame["timestamp__value"]):
        if mid is None or ts is None:
            superseded.append(None)
            continue
        wave = Quarter.of(dates.parse_date(ts), fs).label
        keep_row = latest[(mid, wave)][1]
        superseded.append(None if keep_row == sheet_row else f"superseded by row {keep_row}")
    frame["row__superseded"] = superseded


# ----------------------------------------------------------------------------------------------
def load_suite(tab: str, results: dict[str, TabResult], settings, today: date | None = None) -> dict:
    """The suite file for a tab with its ``$ref`` and ``$date`` values filled in, and ``{today}``
    in a reason written as the day checked against (the day the source was read)."""
    doc = json.loads((EXPECTATIONS_DIR / f"{tab}.json").read_text(encoding="utf-8"))
    today = today or date.today()

    def resolve(value):
        if isinstance(value, dict) and set(value) == {"$date"}:
            return datetime.fromisoformat(value["$date"])
        if isinstance(value, dict) and set(value) == {"$ref"}:
            ref = value["$ref"]
            scope, _, key = ref.partition(".")
            if ref == "run.today":
                return datetime.combine(today, time(23, 59, 59))
            if scope == "scale":  # scale.<item>.min / .max: the item's own scale
                item, _, end = key.partition(".")
                lo, hi = settings.item_scale(item)
                return lo if end == "min" else hi
            if scope == "config":
                raise ValueError(f"unknown config reference {ref} in expectations/{tab}.json")
            if scope == "enum":
                return ENUMS[key]
            accepted = results[scope].accepted
            if accepted is None:
                return []
            return sorted({v for v in accepted[key] if v is not None})
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    def ref_of(kwargs) -> str | None:
        ref = (kwargs.get("value_set") or {}).get("$ref") if isinstance(kwargs.get("value_set"), dict) else None
        return ref if ref and ref.split(".")[0] in results else None

    def meta_of(e) -> dict:
        meta = {**e.get("meta", {}), "ref": ref_of(e["kwargs"])}
        if "reason" in meta:
            meta["reason"] = meta["reason"].replace("{today}", today.isoformat())
        return meta

    doc["expectations"] = [
        {**e, "kwargs": resolve(e["kwargs"]), "meta": meta_of(e)}
        for e in doc["expectations"]
        if e.get("meta", {}).get("when") != "respondent" or "respondent" in results[tab].column_map
    ]
    return doc


def _gx_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.data_sources.add_pandas("coalition")
    return context


def _run_suite(context, tab: str, frame, suite_doc: dict) -> list[tuple]:
    """Run the suite; return one tuple per failing record and expectation:
    (record position, expectation position, column, checked column, expectation type, reason, fix)."""
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if frame.empty:
        return [], []
    frame["record"] = range(len(frame))
    expectations = []
    for order, e in enumerate(suite_doc["expectations"]):
        if _columns_present(e["kwargs"], frame):
            meta = {**e.get("meta", {}), "order": order}
            expectations.append(ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=meta).to_domain_obj())
    suite = ExpectationSuite(name=suite_doc["name"], expectations=expectations)
    source = context.data_sources.get("coalition")
    asset = source.add_dataframe_asset(f"{tab}-{len(source.assets)}")
    batch = asset.add_batch_definition_whole_dataframe("all rows").get_batch(batch_parameters={"dataframe": frame})
    answer = batch.validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["record"]}
    )
    failures, checks = [], []
    for r in sorted(answer.results, key=lambda r: r.expectation_config.meta["order"]):
        cfg = r.expectation_config
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation {cfg.type} on {tab} failed to run: {r.exception_info}")
        meta = cfg.meta or {}
        checked = cfg.kwargs.get("column") or cfg.kwargs.get("column_A")
        column = meta.get("column") or checked
        unexpected = r.result.get("unexpected_index_list") or []
        checks.append({"expectation": cfg.type, "checked_column": checked, "column": column,
                       "rule": meta.get("reason", cfg.type).replace("{value}", "…").replace("{detail}", "…"),
                       "failed": len(unexpected), "success": bool(r.success)})
        for item in unexpected:
            failures.append((int(item["record"]), meta["order"], column, checked, cfg.type,
                             meta.get("reason", cfg.type), meta.get("fix", ""), meta.get("ref")))
    del frame["record"]
    return failures, checks


def _columns_present(kwargs: dict, frame) -> bool:
    cols = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    return all(c in frame.columns for c in cols)


def _original(header: list[str], key: str) -> str:
    for h in header:
        if parsing.norm_key(h) == key:
            return h.strip()
    return key


def _unique(items: list[str]) -> list[str]:
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out
