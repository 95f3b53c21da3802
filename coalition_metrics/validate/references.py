"""References from one tab to another that are resolved in Python before the suites run:
respondents and grid rows to members, superseded survey submissions."""

from __future__ import annotations

from .. import dates, parsing
from ..quarters import Quarter
from .results import TabResult


def member_lookup(results: dict[str, TabResult]) -> dict[str, str]:
    """Case-folded member id or organization name -> member id, from the accepted members."""
    members = results["members"].accepted
    lookup: dict[str, str] = {}
    if members is not None:
        for mid, org in zip(members["member_id"], members["organization"]):
            lookup.setdefault(parsing.norm_key(mid), mid)
            if org:
                lookup.setdefault(parsing.norm_key(org), mid)
    return lookup


def derive_survey(frame, results: dict[str, TabResult], settings) -> None:
    """Match respondents to members and mark superseded submissions (the latest in a wave counts)."""
    frame["respondent__member_id"] = None
    frame["respondent__unknown"] = None
    frame["row__superseded"] = None
    if "respondent" not in results["survey"].column_map:
        return  # anonymous survey
    lookup = member_lookup(results)
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
