"""Grid-form attendance: one row per member, one column per meeting id or meeting date."""

from __future__ import annotations

from .. import dates, parsing
from ..sources import RawTab, column_letter
from .frames import FORMULA_ERRORS, no_rows_problem, non_blank_rows
from .references import member_lookup
from .results import TabResult

# Grid columns that describe the member rather than a meeting.
GRID_MEMBER_HEADERS = frozenset({"member_id", "member id", "organization", "organisation", "name", "member",
                                 "sector", "size_tier", "size tier", "role", "notes", "note", "comments"})


def is_grid(found: dict[str, int]) -> bool:
    """Attendance with a member column but neither meeting_id nor status is the grid form."""
    has_member = "member_id" in found or "organization" in found
    return has_member and "meeting_id" not in found and "status" not in found


def prepare_grid(raw: RawTab, result: TabResult, found: dict[str, int], settings):
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
    for sheet_row, cells in non_blank_rows(raw, result):
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
        problems.append(no_rows_problem(raw.title))
        return result, None, problems
    frame = pd.DataFrame.from_records(records, columns=[
        "sheet_row", "sheet_column", "meeting_id", "member_id", "member__text", "status", "status__value",
        "row__formula_error",
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
    frame["meeting_id"] = [resolved.get(h, h) for h in frame["sheet_column"]]
    frame["grid__meeting"] = [problem.get(h) for h in frame["sheet_column"]]
    lookup = member_lookup(results)
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
