"""References from one tab to another that are resolved in Python before the suites run:
respondents and grid rows to members (by id or organization name, never to two members),
membership windows (a member is expected, and counted, only while a member), and superseded
survey submissions."""

from __future__ import annotations

from .. import dates, parsing
from ..quarters import Quarter
from .results import TabResult


def member_lookup(results: dict[str, TabResult]) -> dict[str, list[str]]:
    """Case-folded member id or organization name -> the accepted member ids it names.

    Two members may share an organization name (or one's name may be another's id): such a key
    names more than one member and a reference by it is ambiguous, never joined to both."""
    members = results["members"].accepted
    lookup: dict[str, list[str]] = {}
    if members is not None:
        for mid, org in zip(members["member_id"], members["organization"]):
            for key in {parsing.norm_key(mid), parsing.norm_key(org) if org else None} - {None}:
                ids = lookup.setdefault(key, [])
                if mid not in ids:
                    ids.append(mid)
    return lookup


def resolve_members(texts, results: dict[str, TabResult]) -> tuple[list, list, list]:
    """For each member reference (id or organization name): (member id or None, the text when it
    matches no member, a sentence when it matches several)."""
    lookup = member_lookup(results)
    ids, unknown, ambiguous = [], [], []
    for text in texts:
        found = lookup.get(parsing.norm_key(text), []) if text else []
        ids.append(found[0] if len(found) == 1 else None)
        unknown.append(text if text and not found else None)
        ambiguous.append(f"{len(found)} members ({', '.join(sorted(found))}) share that name" if len(found) > 1 else None)
    return ids, unknown, ambiguous


def membership_windows(results: dict[str, TabResult]) -> dict[str, tuple[str, str | None]]:
    """Accepted member id -> (joined_on, left_on) as ISO dates (left_on None while a member)."""
    members = results["members"].accepted
    if members is None:
        return {}
    return {mid: (_iso(joined), _iso(left))
            for mid, joined, left in zip(members["member_id"], members["joined_on__value"], members["left_on__value"])}


def _iso(value) -> str | None:
    """An ISO date text from a frame cell; None for blank (None or NaN)."""
    return value if isinstance(value, str) and value else None


def outside_membership(member_id: str | None, day: str | None, windows: dict, what: str) -> str | None:
    """A sentence when ``day`` (ISO) falls outside the member's joined_on..left_on, else None."""
    if member_id is None or day is None or member_id not in windows:
        return None
    joined, left = windows[member_id]
    if joined and day < joined:
        return f"{member_id} joined on {joined}, after {what} ({day})"
    if left and day > left:
        return f"{member_id} left on {left}, before {what} ({day})"
    return None


def mark_attendance_membership(frame, results: dict[str, TabResult]) -> None:
    """``row__outside_membership``: an attendance record for a meeting held while the member was not
    a member (before joined_on or after left_on). The metrics would drop it without a word.

    Compared column-wise (ISO dates compare as text); the sentence is written for the few records
    outside only."""
    import numpy as np
    import pandas as pd

    meetings = results["meetings"].accepted
    members = results["members"].accepted
    out = np.full(len(frame), None, dtype=object)
    if meetings is not None and members is not None and len(frame):
        day = frame["meeting_id"].map(pd.Series(meetings["date__value"].to_numpy(), index=meetings["meeting_id"])
                                      .loc[lambda s: ~s.index.duplicated()])
        windows = members.drop_duplicates("member_id").set_index("member_id")
        joined = frame["member_id"].map(windows["joined_on__value"])
        left = frame["member_id"].map(windows["left_on__value"])
        known = frame["member_id"].isin(windows.index) & day.notna()
        # ISO dates compare as text; a column with no date at all maps to float NaN, so make every
        # side object-typed before filling (pandas 4 refuses a text fill on a float column)
        day_s, joined_s, left_s = (col.astype(object) for col in (day, joined, left))
        before = known & joined.notna() & (day_s.fillna("") < joined_s.fillna(""))
        after = known & left.notna() & (day_s.fillna("") > left_s.fillna("~"))
        flagged = np.flatnonzero((before | after).to_numpy())
        windows_of = membership_windows(results)
        for i in flagged:
            mid, meeting = frame["member_id"].iat[i], frame["meeting_id"].iat[i]
            out[i] = outside_membership(mid, _iso(day.iat[i]), windows_of, f"meeting {meeting}")
    frame["row__outside_membership"] = out


def derive_survey(frame, results: dict[str, TabResult], settings) -> None:
    """Match respondents to members (unknown, ambiguous, outside their membership) and mark
    superseded submissions: the latest of a member's submissions in a wave counts."""
    for column in ("respondent__member_id", "respondent__unknown", "respondent__ambiguous", "row__outside_membership",
                   "row__superseded"):
        frame[column] = None
    if "respondent" not in results["survey"].column_map:
        return  # anonymous survey
    ids, unknown, ambiguous = resolve_members(frame["respondent"], results)
    windows = membership_windows(results)
    outside = [outside_membership(mid, ts[:10] if isinstance(ts, str) else None, windows, "this response")
               for mid, ts in zip(ids, frame["timestamp__value"])]
    frame["respondent__member_id"] = ids
    frame["respondent__unknown"] = unknown
    frame["respondent__ambiguous"] = ambiguous
    frame["row__outside_membership"] = outside
    fs = settings.fiscal_year_start_month
    counted = [(row, mid, ts) for row, mid, ts, out in zip(frame["sheet_row"], ids, frame["timestamp__value"], outside)
               if mid is not None and isinstance(ts, str) and out is None]
    waves: dict[str, str] = {}  # the wave of each day, computed once per day

    def wave(ts: str) -> str:
        day = ts[:10]
        if day not in waves:
            waves[day] = Quarter.of(dates.parse_date(ts), fs).label
        return waves[day]

    latest: dict[tuple, tuple] = {}
    for sheet_row, mid, ts in counted:
        key = (mid, wave(ts))
        if key not in latest or (ts, sheet_row) > latest[key]:
            latest[key] = (ts, sheet_row)
    superseded = {}
    for sheet_row, mid, ts in counted:
        keep_row = latest[(mid, wave(ts))][1]
        if keep_row != sheet_row:
            superseded[sheet_row] = f"superseded by row {keep_row}"
    frame["row__superseded"] = [superseded.get(r) for r in frame["sheet_row"]]
