"""The column-wise membership and survey references (validate/references.py) give, record for record,
what the row-by-row rules give: random members (shared organization names, ids that are another's
name, no joined_on, left members), meetings (some without a date, repeated ids), respondents (ids,
names in any case, unknown, blank) and timestamps (blank, unparseable, same second, other waves)."""

import random

import numpy as np
import pandas as pd
import pytest

from coalition_metrics import dates, parsing
from coalition_metrics.quarters import Quarter
from coalition_metrics.validate.references import (derive_survey, mark_attendance_membership,
                                                   membership_windows, outside_membership, resolve_members)
from coalition_metrics.validate.results import TabResult


class _Settings:
    fiscal_year_start_month = 7


def _day(rng):
    return f"20{rng.randint(24, 27)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _world(seed):
    rng = random.Random(seed)
    n = rng.randint(0, 25)
    orgs = [f"Org {rng.randint(0, 12)}" for _ in range(n)]
    ids = [f"M{k:02d}" for k in range(n)]
    if n > 3:
        orgs[1] = ids[2].lower()  # one member's name is another's id
    members = pd.DataFrame({
        "member_id": ids, "organization": [o if rng.random() > 0.1 else None for o in orgs],
        "joined_on__value": [_day(rng) if rng.random() > 0.2 else None for _ in ids],
        "left_on__value": [_day(rng) if rng.random() > 0.6 else (np.nan if rng.random() > 0.5 else None) for _ in ids],
    })
    meeting_ids = [f"G{k}" for k in range(rng.randint(0, 15))]
    meetings = pd.DataFrame({"meeting_id": meeting_ids + meeting_ids[:2],
                             "date__value": [_day(rng) if rng.random() > 0.15 else None for _ in meeting_ids + meeting_ids[:2]]})
    results = {"members": TabResult("members", "members", True), "meetings": TabResult("meetings", "meetings", True),
               "survey": TabResult("survey", "survey", True, column_map={"respondent": 1})}
    results["members"].accepted = members
    results["meetings"].accepted = meetings
    pool = ids + orgs + [i.lower() for i in ids] + ["Nobody", "org 3", None]
    rows = rng.randint(0, 60)
    survey = pd.DataFrame({
        "sheet_row": rng.sample(range(2, 500), rows),
        "respondent": [rng.choice(pool) if pool else None for _ in range(rows)],
        "timestamp__value": [f"{_day(rng)} {rng.randint(0, 23):02d}:00:00" if rng.random() > 0.1 else None
                             for _ in range(rows)],
    })
    if rows > 4:
        survey.loc[3, ["respondent", "timestamp__value"]] = survey.loc[2, ["respondent", "timestamp__value"]].to_numpy()
    attendance = pd.DataFrame({
        "member_id": [rng.choice(ids + ["M99", None]) for _ in range(rows)],
        "meeting_id": [rng.choice(meeting_ids + ["G99"]) for _ in range(rows)],
    })
    return results, survey, attendance


def _rowwise_survey(frame, results, fs):
    ids, unknown, ambiguous = resolve_members(frame["respondent"], results)
    windows = membership_windows(results)
    outside = [outside_membership(mid, ts[:10] if isinstance(ts, str) else None, windows, "this response")
               for mid, ts in zip(ids, frame["timestamp__value"])]
    counted = [(row, mid, ts) for row, mid, ts, out in zip(frame["sheet_row"], ids, frame["timestamp__value"], outside)
               if mid is not None and isinstance(ts, str) and out is None]
    wave = {}
    latest = {}
    for row, mid, ts in counted:
        wave[row] = Quarter.of(dates.parse_date(ts), fs).label
        key = (mid, wave[row])
        if key not in latest or (ts, row) > latest[key]:
            latest[key] = (ts, row)
    superseded = {row: f"superseded by row {latest[(mid, wave[row])][1]}" for row, mid, ts in counted
                  if latest[(mid, wave[row])][1] != row}
    return ids, unknown, ambiguous, outside, [superseded.get(r) for r in frame["sheet_row"]]


def _rowwise_attendance(frame, results):
    windows = membership_windows(results)
    day_of = {}
    for mid, day in zip(results["meetings"].accepted["meeting_id"], results["meetings"].accepted["date__value"]):
        day_of.setdefault(mid, day if isinstance(day, str) else None)
    return [outside_membership(m, day_of.get(g), windows, f"meeting {g}") for m, g in zip(frame["member_id"], frame["meeting_id"])]


def _none(values):
    return [None if v is None or (isinstance(v, float) and v != v) else v for v in values]


@pytest.mark.parametrize("seed", range(120))
def test_columnwise_references_equal_the_rowwise_rules(seed):
    results, survey, attendance = _world(seed)
    expected = _rowwise_survey(survey, results, _Settings.fiscal_year_start_month)
    derive_survey(survey, results, _Settings())
    got = [survey[c].tolist() for c in ("respondent__member_id", "respondent__unknown", "respondent__ambiguous",
                                         "row__outside_membership", "row__superseded")]
    assert [_none(g) for g in got] == [_none(e) for e in expected]
    expected = _rowwise_attendance(attendance, results)
    mark_attendance_membership(attendance, results)
    assert _none(attendance["row__outside_membership"].tolist()) == _none(expected)


def test_the_worlds_reach_every_rule():
    """The random worlds above do produce each kind of finding (so the comparison is not vacuous)."""
    seen = {"outside_survey": 0, "superseded": 0, "unknown": 0, "ambiguous": 0, "outside_attendance": 0}
    for seed in range(120):
        results, survey, attendance = _world(seed)
        derive_survey(survey, results, _Settings())
        mark_attendance_membership(attendance, results)
        seen["outside_survey"] += survey["row__outside_membership"].notna().sum()
        seen["superseded"] += survey["row__superseded"].notna().sum()
        seen["unknown"] += survey["respondent__unknown"].notna().sum()
        seen["ambiguous"] += survey["respondent__ambiguous"].notna().sum()
        seen["outside_attendance"] += attendance["row__outside_membership"].notna().sum()
    assert all(v >= 5 for v in seen.values()), seen
    assert parsing.norm_key("Org 3") == parsing.norm_key("org 3")


def test_known_flags_are_a_pandas_index_lookup():
    """The id-reference flag (suites.known_flags: True when the id is among the other tab's accepted
    ids, False when not, None when blank) is a set lookup; it gives what a pandas Index lookup gives
    on ids that differ by case, padding, full-width digits, composed accents, numbers and booleans
    that equal text-free ids, and every kind of blank (None, NaN, pd.NA), as Python True/False."""
    from coalition_metrics.validate.suites import known_flags

    def by_index(values, accepted, key):
        values = np.asarray(values, dtype=object)
        ids = [] if accepted is None else accepted[key].dropna().to_numpy(dtype=object)
        known = pd.Index(ids).drop_duplicates().get_indexer(values) >= 0 if len(ids) else np.zeros(len(values), bool)
        flags = np.array(known.tolist(), dtype=object)
        flags[pd.isna(values)] = None
        return flags.tolist()

    pool = ["M001", "M002", " M001", "m001", "M001 ", "", "\uff11", "1", 1, 1.0, True, None, float("nan"), pd.NA,
            "NaN", "None", "e\u0301", "\u00e9"]
    rng = random.Random(3)
    for _ in range(2000):
        values = [rng.choice(pool) for _ in range(rng.randint(0, 30))]
        ids = [rng.choice(pool) for _ in range(rng.randint(0, 8))]
        texts = [v for v in ids if isinstance(v, str) or v is None]
        for accepted in (pd.DataFrame({"k": pd.Series(ids, dtype=object)}),
                         pd.DataFrame({"k": pd.array(texts, dtype="string")}), None):
            for given in (values, pd.Series(values, dtype=object)):
                flags = known_flags(given, accepted, "k")
                assert flags.tolist() == by_index(given, accepted, "k")
                assert {type(f) for f in flags} <= {bool, type(None)}
