"""References from one tab to another that are resolved in Python before the suites run:
respondents and grid rows to members (by id or organization name, never to two members),
membership windows (a member is expected, and counted, only while a member), and superseded
survey submissions."""

from __future__ import annotations

from .. import dates, parsing
from ..quarters import Quarter
from .frames import by_code
from .results import TabResult


def member_lookup(results: dict[str, TabResult]) -> dict[str, list[str]]:
    """Case-folded member id or organization name -> the accepted member ids it names.

    Two members may share an organization name (or one's name may be another's id): such a key
    names more than one member and a reference by it is ambiguous, never joined to both."""
    members = results["members"].accepted
    lookup: dict[str, list[str]] = {}
    if members is not None:
        for mid, org in zip(members["member_id"], members["organization"]):
            # a blank organization is NaN in a pandas frame: it names nobody (not the text 'nan')
            for key in {parsing.norm_key(mid), parsing.norm_key(org) if isinstance(org, str) and org else None} - {None}:
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
        text = text if isinstance(text, str) and text else None  # a blank is None or NaN
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


def _iso_days(values):
    """ISO date texts (None, NaN or "" for blank) as numpy days, NaT for blank."""
    import numpy as np

    return np.array([v[:10] if isinstance(v, str) and v else "NaT" for v in values], dtype="datetime64[D]")


def outside_flags(member_ids, days, results: dict[str, TabResult]):
    """Positions where ``days`` (datetime64[D], NaT when unknown) fall outside the membership window
    of ``member_ids`` (accepted member ids; any other value is never outside), compared as days:
    one hash lookup per record, then numpy."""
    import numpy as np
    import pandas as pd

    members = results["members"].accepted
    if members is None or not len(days):
        return np.zeros(0, dtype=np.intp)
    first = members.drop_duplicates("member_id")
    at = pd.Index(first["member_id"].to_numpy(dtype=object)).get_indexer(np.asarray(member_ids, dtype=object))
    joined = np.append(_iso_days(first["joined_on__value"]), np.datetime64("NaT"))[at]
    left = np.append(_iso_days(first["left_on__value"]), np.datetime64("NaT"))[at]
    known = (at >= 0) & ~np.isnat(days)
    # NaT compares False either way: no joined_on (or left_on) is never before (after) it
    return np.flatnonzero(known & ((days < joined) | (days > left)))


def mark_attendance_membership(frame, results: dict[str, TabResult]) -> None:
    """``row__outside_membership``: an attendance record for a meeting held while the member was not
    a member (before joined_on or after left_on). The metrics would drop it without a word.

    Compared column-wise as days; the sentence is written for the few records outside only."""
    import numpy as np
    import pandas as pd

    meetings = results["meetings"].accepted
    out = np.full(len(frame), None, dtype=object)
    if meetings is not None and results["members"].accepted is not None and len(frame):
        held = meetings.drop_duplicates("meeting_id")
        at = pd.Index(held["meeting_id"].to_numpy(dtype=object)).get_indexer(frame["meeting_id"].to_numpy(dtype=object))
        iso = np.append(held["date__value"].to_numpy(dtype=object), None)
        days = np.append(_iso_days(iso[:-1]), np.datetime64("NaT"))[at]
        flagged = outside_flags(frame["member_id"].to_numpy(dtype=object), days, results)
        windows_of = membership_windows(results)
        for i in flagged:
            mid, meeting = frame["member_id"].iat[i], frame["meeting_id"].iat[i]
            out[i] = outside_membership(mid, _iso(iso[at[i]]), windows_of, f"meeting {meeting}")
    frame["row__outside_membership"] = out


def derive_survey(frame, results: dict[str, TabResult], settings) -> None:
    """Match respondents to members (unknown, ambiguous, outside their membership) and mark
    superseded submissions: the latest of a member's submissions in a wave counts.

    Each distinct respondent text is matched once, and each distinct day's wave computed once."""
    import numpy as np
    import pandas as pd

    if "respondent" not in results["survey"].column_map:  # anonymous survey
        for column in ("respondent__member_id", "respondent__unknown", "respondent__ambiguous",
                       "row__outside_membership", "row__superseded"):
            frame[column] = None
        return
    codes, texts = pd.factorize(frame["respondent"].to_numpy(dtype=object))
    matched = resolve_members(list(texts), results)
    ids, unknown, ambiguous = (by_code(m, codes) for m in matched)
    stamps = frame["timestamp__value"].to_numpy(dtype=object)
    day_codes, day_texts = pd.factorize(np.array([t[:10] if isinstance(t, str) else None for t in stamps], dtype=object))
    days = np.append(_iso_days(day_texts), np.datetime64("NaT"))[day_codes]
    outside = np.full(len(frame), None, dtype=object)
    windows = membership_windows(results)
    for i in outside_flags(ids, days, results):
        outside[i] = outside_membership(ids[i], stamps[i][:10], windows, "this response")
    frame["respondent__member_id"] = ids
    frame["respondent__unknown"] = unknown
    frame["respondent__ambiguous"] = ambiguous
    frame["row__outside_membership"] = outside
    counted = np.flatnonzero(pd.notna(ids) & (day_codes >= 0) & pd.isna(outside))
    if not len(counted):
        frame["row__superseded"] = None
        return
    fs = settings.fiscal_year_start_month
    wave_of_day = np.array([Quarter.of(dates.parse_date(d), fs).label for d in day_texts], dtype=object)
    rows = pd.DataFrame({"mid": ids[counted], "wave": wave_of_day[day_codes[counted]], "ts": stamps[counted],
                         "row": frame["sheet_row"].to_numpy()[counted]})
    # the latest (timestamp, sheet row) of each member's submissions in a wave counts
    rows = rows.sort_values(["ts", "row"], kind="stable")
    keep = rows.groupby(["mid", "wave"], sort=False)["row"].transform("last")
    later = rows[keep.to_numpy() != rows["row"].to_numpy()]
    superseded = np.full(len(frame), None, dtype=object)
    position = pd.Index(frame["sheet_row"].to_numpy()).get_indexer(later["row"].to_numpy())
    superseded[position] = [f"superseded by row {k}" for k in keep[later.index].to_numpy()]
    frame["row__superseded"] = superseded
