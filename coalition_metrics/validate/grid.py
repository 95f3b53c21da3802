"""Grid-form attendance: one row per member, one column per meeting id or meeting date."""

from __future__ import annotations

from .. import dates, parsing
from ..contract import headers_of
from ..sources import RawTab, column_letter
from .frames import FORMULA_ERRORS, is_uncalculated_formula, no_rows_problem, non_blank_rows
from .references import resolve_members
from .results import TabResult

# Grid columns that describe the member rather than a meeting.
GRID_MEMBER_HEADERS = frozenset({"member_id", "member id", "organization", "organisation", "name", "member",
                                 "sector", "size_tier", "size tier", "role", "notes", "note", "comments"})


def is_grid(found: dict[str, int], expected: dict[str, str]) -> bool:
    """Attendance with a member column but neither meeting_id nor status is the grid form
    (``expected``: the headers of the long form, [columns] mapping applied)."""
    def has(column: str) -> bool:
        return parsing.norm_key(expected[column]) in found

    has_member = has("member_id") or "member_id" in found or "organization" in found
    return has_member and not has("meeting_id") and not has("status")


def prepare_grid(raw: RawTab, result: TabResult, found: dict[str, int], settings):
    """One record per non-blank meeting cell; meeting headers are resolved after meetings validate."""
    import pandas as pd

    result.form = "grid"
    own = parsing.norm_key(headers_of("attendance", settings)["member_id"])
    member_col = found.get(own, found.get("member_id", found.get("organization")))
    result.column_map["member_id"] = member_col
    meeting_cols = [
        (i, h.strip()) for i, h in enumerate(raw.header)
        if i != member_col and parsing.norm_key(h) not in GRID_MEMBER_HEADERS
    ]
    problems = []
    seen: dict[str, int] = {}
    for i, header in meeting_cols:
        if not header:
            continue
        first = seen.setdefault(parsing.norm_key(header), i)
        if first != i:
            problems.append(
                f"Tab '{raw.title}' has two columns headed '{header}' ({column_letter(first)} and "
                f"{column_letter(i)}): one meeting would be counted twice for every member. Keep one column "
                f"per meeting (merge the marks into one of them)."
            )
    if problems:
        return result, None, problems
    records = []
    for sheet_row, cells in non_blank_rows(raw, result):
        member = cells[member_col].strip() if member_col < len(cells) else ""
        for i, header in meeting_cols:
            text = cells[i].strip() if i < len(cells) else ""
            if not text:
                continue  # no mark: absent if the member was expected
            records.append({
                "sheet_row": sheet_row,
                "sheet_column": header or f"column {column_letter(i)}",
                "sheet_column_index": i,
                "meeting_id": header or None,
                "member_id": member or None,
                "member__text": member or None,
                "status": text,
                "status__value": parsing.attendance_mark(text) or parsing.enum_value(text),
                "row__formula_error": f"status\t{text}" if text.casefold() in FORMULA_ERRORS else None,
                "row__formula_uncalculated": f"status\t{text}" if is_uncalculated_formula(text) else None,
            })
    if not result.checked_rows:
        problems.append(no_rows_problem(raw.title))
        return result, None, problems
    frame = pd.DataFrame.from_records(records, columns=[
        "sheet_row", "sheet_column", "sheet_column_index", "meeting_id", "member_id", "member__text", "status", "status__value",
        "row__formula_error", "row__formula_uncalculated",
    ])
    return result, frame, problems


def resolve_grid(frame, results: dict[str, TabResult], settings) -> None:
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
    # Two columns for one meeting (its id and its date, say) would count it twice: the later
    # column's cells are set aside, naming the first.
    order = frame.drop_duplicates("sheet_column").sort_values("sheet_column_index")["sheet_column"]
    first_column: dict[str, str] = {}
    for header in order:
        mid = resolved.get(header)
        if mid is None:
            continue
        first = first_column.setdefault(mid, header)
        if first != header:
            problem[header] = (f"column '{header}' is meeting {mid} again (column '{first}' already is); "
                               f"keep one column per meeting")
    frame["meeting_id"] = [resolved.get(h, h) for h in frame["sheet_column"]]
    frame["grid__meeting"] = [problem.get(h) for h in frame["sheet_column"]]
    ids, _unknown, ambiguous = resolve_members(frame["member__text"], results)
    # An unknown member keeps its text, so the suite's member check names it.
    member_ids = [mid or text for mid, text in zip(ids, frame["member__text"])]
    frame["member_id"] = member_ids
    frame["member__ambiguous"] = ambiguous
    first: dict[str, int] = {}
    repeats = []
    for sheet_row, mid in zip(frame["sheet_row"], member_ids):
        if mid is None:
            repeats.append(None)
            continue
        first.setdefault(mid, sheet_row)
        repeats.append(None if first[mid] == sheet_row else f"repeats row {first[mid]}")
    frame["row__repeat"] = repeats
