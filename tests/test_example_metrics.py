"""The example coalition's metrics against an independent pandas computation from the CSV files.

Nothing here calls the package's parsing, validation or SQL: the CSVs are read with pandas, the
planted defects are dropped by hand (they are listed in examples/README.md), and every metric is
recomputed from DESIGN.md's definitions.
"""

import json
import math

import pandas as pd
import pytest

from conftest import EXAMPLE_CSV

COUNTED = {"weekly_call", "monthly_call", "quarterly_meeting"}
LABELS = {"strongly disagree": 1, "disagree": 2, "neither agree nor disagree": 3, "agree": 4, "strongly agree": 5}
SATISFACTION_Q = "Overall, how satisfied are you with your organization's participation in the coalition?"


def quarter_label(ts) -> str:
    p = pd.Timestamp(ts).to_period("Q")
    return f"{p.year}-Q{p.quarter}"


@pytest.fixture(scope="module")
def independent():
    read = lambda name: pd.read_csv(EXAMPLE_CSV / f"{name}.csv", dtype=str, keep_default_na=False)
    members = read("members")
    members["joined"] = pd.to_datetime(members["joined_on"], format="%Y-%m-%d")
    members["left"] = pd.to_datetime(members["left_on"].replace("", None), format="%Y-%m-%d")
    meetings = read("meetings")
    meetings["day"] = pd.to_datetime(meetings["date"], format="%Y-%m-%d")
    meetings["kind"] = meetings["kind"].str.strip().str.lower().str.replace(" ", "_")
    meetings = meetings[meetings["kind"].isin(COUNTED)]
    attendance = read("attendance")
    attendance = attendance[(attendance["meeting_id"] != "") & (attendance["member_id"] != "M11")]  # defects
    attendance["status"] = attendance["status"].str.strip().str.lower()

    expected = meetings.merge(members, how="cross")
    expected = expected[(expected["joined"] <= expected["day"]) & (expected["left"].isna() | (expected["left"] >= expected["day"]))]
    expected = expected.merge(attendance, on=["meeting_id", "member_id"], how="left")
    expected["status"] = expected["status"].fillna("absent")
    expected["quarter"] = expected["day"].map(quarter_label)

    tasks = read("tasks")
    tasks = tasks[tasks["due_on"] != "March 15, 2026"]  # defect: unparseable date
    tasks = tasks[~tasks.duplicated("task_id", keep="first")]  # defect: T017 repeated
    tasks["due"] = pd.to_datetime(tasks["due_on"], format="%m/%d/%Y")
    tasks["done"] = pd.to_datetime(tasks["completed_on"].replace("", None), format="%m/%d/%Y")

    survey = read("survey")
    survey["ts"] = pd.to_datetime(survey["Timestamp"], format="%m/%d/%Y %H:%M:%S")
    survey["wave"] = survey["ts"].map(quarter_label)
    survey = survey[survey["I trust the other members of this coalition to follow through on their commitments."] != "6"]
    org_to_id = {o.lower(): m for m, o in zip(members["member_id"], members["organization"])}
    survey["member"] = survey["Organization"].str.strip().str.lower().map(org_to_id)
    survey = survey.sort_values("ts").drop_duplicates(["member", "wave"], keep="last")  # latest counts
    score = survey[SATISFACTION_Q].str.strip().str.lower()
    survey["sat"] = score.map(lambda s: LABELS[s] if s in LABELS else (float(s) if s else math.nan)).astype(float)

    out = {}
    for q in sorted(expected["quarter"].unique()):
        if q > "2026-Q3":  # the run reports every quarter up to its own
            continue
        e = expected[expected["quarter"] == q]
        present, absent = (e["status"] == "present").sum(), (e["status"] == "absent").sum()
        period = pd.Period(q.replace("-", ""), freq="Q")
        start, end = period.start_time.normalize(), period.end_time.normalize()
        roster = members[(members["joined"] <= end) & (members["left"].isna() | (members["left"] >= start))]
        active = set(e.loc[e["status"] == "present", "member_id"]) & set(roster["member_id"])
        due = tasks[(tasks["due"] >= start) & (tasks["due"] <= end)]
        done = due[due["done"].notna() & (due["done"] <= end)]
        sat = survey.loc[survey["wave"] == q, "sat"].dropna()
        out[q] = {
            "attendance_rate": (present / (present + absent), present + absent),
            "engagement_rate": (len(active) / len(roster), len(roster)),
            "task_completion_rate": (len(done) / len(due), len(due)),
            "satisfaction_mean": (sat.mean() if len(sat) >= 5 else None, len(sat)),
        }
    return out


def test_every_quarter_and_metric_matches_pandas(example_run, independent):
    doc = json.loads((example_run.folder / "funder_metrics.json").read_text())
    published = {(r["quarter"], r["metric_id"]): r for r in doc["metrics"]}
    assert sorted({q for q, _ in published}) == sorted(independent)
    for quarter, metrics in independent.items():
        for metric_id, (value, n) in metrics.items():
            row = published[(quarter, metric_id)]
            assert row["n"] == n, (quarter, metric_id)
            if value is None:
                assert row["value"] is None and row["suppressed"] is True, (quarter, metric_id)
            else:
                assert row["value"] == pytest.approx(value, abs=1e-6), (quarter, metric_id)
                assert row["suppressed"] is False


def test_last_full_quarter_figures_worked_by_hand(example_run):
    """2026-Q3 (Jul-Sep 2026), from the CSVs: see the comments for the counts."""
    metrics = {r["metric_id"]: r for r in example_run.manifest["metrics"]}
    # 13 weekly calls (Tuesdays 7/7..9/29, none skipped), 3 monthly calls, 1 quarterly meeting = 17;
    # 9 members on the roster (M09 left 2026-03-31) -> 153 expected, 6 excused -> 147 counted.
    assert metrics["attendance_rate"]["n"] == 147
    assert metrics["attendance_rate"]["value"] == pytest.approx(95 / 147, abs=1e-6)
    # Northside Faith Alliance (M08) attended nothing in the quarter: 8 of 9 active.
    assert metrics["engagement_rate"]["value"] == pytest.approx(8 / 9, abs=1e-6)
    assert metrics["engagement_rate"]["n"] == 9
    assert metrics["task_completion_rate"]["value"] == pytest.approx(8 / 9, abs=1e-6)
    # Satisfaction answers of the 9 responses of the wave sum to 35.
    assert metrics["satisfaction_mean"]["n"] == 9
    assert metrics["satisfaction_mean"]["value"] == pytest.approx(35 / 9, abs=1e-6)


def test_small_n_wave_is_suppressed_with_no_value(example_run):
    doc = json.loads((example_run.folder / "funder_metrics.json").read_text())
    row = next(r for r in doc["metrics"] if r["metric_id"] == "satisfaction_mean" and r["quarter"] == "2025-Q1")
    assert row == {"metric_id": "satisfaction_mean", "quarter": "2025-Q1", "value": None, "unit": "score",
                   "n": 4, "suppressed": True}
    csv_line = next(l for l in (example_run.folder / "funder_metrics.csv").read_text().splitlines()
                    if l.startswith("satisfaction_mean,2025-Q1"))
    assert csv_line == "satisfaction_mean,2025-Q1,,score,4,true"
