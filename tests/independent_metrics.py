"""Every metric of the catalog for the bundled example, recomputed with pandas from the CSV files
and the definitions in docs/metrics.md. Nothing here uses the package (no parsing, validation or SQL); the
planted defects are dropped by hand as examples/README.md lists them.

compute() returns {(published_id, quarter): (value, n, suppressed)}, for calendar quarters from
the first with data to 2026-Q3, every quarter closed (as_of = its last day).
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from conftest import EXAMPLE_CSV

COUNTED = ["weekly_call", "monthly_call", "quarterly_meeting"]
KINDS = ["weekly_call", "monthly_call", "quarterly_meeting", "committee", "event"]
CADENCE = {"weekly_call": 13, "monthly_call": 3, "quarterly_meeting": 1}
MILESTONE_KINDS = ["quick_win", "policy_win", "media", "funding", "other"]
LABELS = {"strongly disagree": 1, "disagree": 2, "neither agree nor disagree": 3, "neutral": 3, "agree": 4,
          "strongly agree": 5, "very dissatisfied": 1, "dissatisfied": 2, "satisfied": 4, "very satisfied": 5}
ITEMS = {
    "satisfaction": "Overall, how satisfied are you with your organization's participation in the coalition?",
    "trust": "I trust the other members of this coalition to follow through on their commitments.",
    "voice_heard": "My organization's voice is heard in coalition decisions.",
    "shared_vision": "Members share a clear, common vision of what the coalition is trying to achieve.",
    "communication": "Communication among members is timely and useful.",
    "value_received": "The benefits of participating outweigh the costs for my organization.",
}
SMALL_N = 5
LAST_QUARTER = "2026-Q3"


def _read(name):
    return pd.read_csv(EXAMPLE_CSV / f"{name}.csv", dtype=str, keep_default_na=False)


def _day(series, fmt="%Y-%m-%d"):
    return pd.to_datetime(series.replace("", None), format=fmt)


def _score(text):
    t = " ".join(str(text).strip().lower().split())
    if not t:
        return math.nan
    return float(LABELS[t]) if t in LABELS else float(t)


def _ratio(a, b):
    return None if not b else a / b


def load():
    members = _read("members")
    members["joined"] = _day(members["joined_on"])
    members["left"] = _day(members["left_on"])
    members["tier"] = members["size_tier"].str.strip().str.lower()

    meetings = _read("meetings")
    meetings["day"] = _day(meetings["date"])
    meetings["kind"] = meetings["kind"].str.strip().str.lower().str.replace(" ", "_")
    meetings["facilitator"] = meetings["facilitator_id"].str.strip().replace("", None)

    att = _read("attendance")
    att = att[(att["meeting_id"].str.strip() != "") & (att["member_id"] != "M11")]  # defects: blank row, M11
    att["status"] = att["status"].str.strip().str.lower()

    tasks = _read("tasks")
    tasks = tasks[tasks["due_on"] != "March 15, 2026"]  # defect: date in words
    tasks = tasks[~tasks.duplicated("task_id", keep="first")]  # defect: T017 twice
    for col, src in (("created", "created_on"), ("due", "due_on"), ("done", "completed_on")):
        tasks[col] = _day(tasks[src], "%m/%d/%Y")
    tasks["accountable"] = tasks["accountable_id"].str.strip().replace("", None)

    survey = _read("survey")
    survey["ts"] = pd.to_datetime(survey["Timestamp"], format="%m/%d/%Y %H:%M:%S")
    survey = survey[survey[ITEMS["trust"]] != "6"]  # defect: a 6 on a 1-5 scale
    org_to_id = {o.strip().lower(): m for m, o in zip(members["member_id"], members["organization"])}
    survey["member"] = survey["Organization"].str.strip().str.lower().map(org_to_id)
    survey["wave"] = survey["ts"].dt.to_period("Q")
    survey = survey.sort_values("ts").drop_duplicates(["member", "wave"], keep="last")  # latest counts
    for item, question in ITEMS.items():
        survey[item] = survey[question].map(_score)

    goals = _read("goals")
    for col in ("baseline", "target"):
        goals[col] = goals[col].astype(float)
    goals["baseline_day"] = _day(goals["baseline_on"])
    goals["target_day"] = _day(goals["target_on"])
    measures = _read("goal_measurements").reset_index(names="order")
    measures["day"] = _day(measures["measured_on"])
    measures["value"] = measures["value"].astype(float)

    milestones = _read("milestones")
    milestones["day"] = _day(milestones["date"])
    milestones["kind"] = milestones["kind"].str.strip().str.lower()
    return members, meetings, att, tasks, survey, goals, measures, milestones


def compute() -> dict[tuple[str, str], tuple]:
    members, meetings, att, tasks, survey, goals, measures, milestones = load()
    first = min(members["joined"].min(), meetings["day"].min()).to_period("Q")
    periods = pd.period_range(first, pd.Period(LAST_QUARTER.replace("-", ""), freq="Q"), freq="Q")
    out: dict[tuple[str, str], tuple] = {}

    def put(pid, q, value, n, survey_figure=False):
        suppressed = survey_figure and n is not None and 0 < n < SMALL_N
        value = None if suppressed or value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        out[(pid, q)] = (value, None if n is None else int(n), suppressed)

    def label(p):
        return f"{p.year}-Q{p.quarter}"

    # expected attendance at counted meetings, every quarter (closed: as_of = end)
    counted = meetings[meetings["kind"].isin(COUNTED)]
    expected = counted.merge(members[["member_id", "joined", "left"]], how="cross")
    expected = expected[(expected["joined"] <= expected["day"]) & (expected["left"].isna() | (expected["left"] >= expected["day"]))]
    expected = expected.merge(att[["meeting_id", "member_id", "status"]], on=["meeting_id", "member_id"], how="left")
    expected["status"] = expected["status"].fillna("absent")
    expected["period"] = expected["day"].dt.to_period("Q")

    member_rates: dict[str, dict[str, float | None]] = {}
    active_by_q: dict[str, set] = {}
    first_join = members["joined"].min()

    for seq, p in enumerate(periods, start=1):
        q = label(p)
        start, end = p.start_time.normalize(), p.end_time.normalize()
        as_of = end
        roster = members[(members["joined"] <= end) & (members["left"].isna() | (members["left"] >= start))]
        roster_ids = set(roster["member_id"])

        # meetings
        held = meetings[(meetings["day"] >= start) & (meetings["day"] <= as_of)]
        for k in KINDS:
            put(f"meetings_held[{k}]", q, (held["kind"] == k).sum(), (held["kind"] == k).sum())
        put("meetings_held", q, len(held), len(held))
        adherence = {k: min(1.0, (held["kind"] == k).sum() / CADENCE[k]) for k in CADENCE}
        for k, v in adherence.items():
            put(f"cadence_adherence[{k}]", q, v, (held["kind"] == k).sum())
        put("cadence_adherence", q, sum(adherence.values()) / len(adherence), held["kind"].isin(list(CADENCE)).sum())

        # attendance
        e = expected[expected["period"] == p]
        pres, abs_ = (e["status"] == "present").sum(), (e["status"] == "absent").sum()
        put("attendance_rate", q, _ratio(pres, pres + abs_), pres + abs_)
        for k in COUNTED:
            ek = e[e["kind"] == k]
            pk, ak = (ek["status"] == "present").sum(), (ek["status"] == "absent").sum()
            put(f"attendance_rate[{k}]", q, _ratio(pk, pk + ak), pk + ak)
        member_rates[q] = {}
        for m in roster_ids:
            em = e[e["member_id"] == m]
            pm, am = (em["status"] == "present").sum(), (em["status"] == "absent").sum()
            member_rates[q][m] = _ratio(pm, pm + am)
            put(f"member_attendance_rate[{m}]", q, member_rates[q][m], pm + am)

        # engagement
        active = set(e.loc[e["status"] == "present", "member_id"]) & roster_ids
        active_by_q[q] = active
        put("active_members", q, len(active), len(roster_ids))
        put("engagement_rate", q, _ratio(len(active), len(roster_ids)), len(roster_ids))
        if seq == 1:
            put("retention_rate", q, None, 0)
        else:
            prev = active_by_q[label(periods[seq - 2])]
            put("retention_rate", q, _ratio(len(prev & active), len(prev)), len(prev))

        # alerts
        at_as_of = members[(members["joined"] <= as_of) & (members["left"].isna() | (members["left"] >= as_of))]
        flagged = set()
        prev_rates = member_rates.get(label(periods[seq - 2])) if seq > 1 else {}
        for m in at_as_of["member_id"]:
            cur, before = member_rates[q].get(m), (prev_rates or {}).get(m)
            if cur is not None and before is not None and cur <= before - 0.25 + 1e-9:
                flagged.add(m)
            mine = expected[(expected["member_id"] == m) & (expected["day"] <= as_of) & (expected["status"] != "excused")]
            last3 = mine.sort_values(["day", "meeting_id"], ascending=False).head(3)
            if len(last3) == 3 and (last3["status"] == "absent").all():
                flagged.add(m)
        put("disengagement_alerts", q, len(flagged), len(roster_ids))

        # tasks
        due = tasks[(tasks["due"] >= start) & (tasks["due"] <= as_of)]
        done = due[due["done"].notna() & (due["done"] <= as_of)]
        on_time = done[done["done"] <= done["due"]]
        put("task_completion_rate", q, _ratio(len(done), len(due)), len(due))
        put("on_time_rate", q, _ratio(len(on_time), len(done)), len(done))
        before_as_of = tasks[tasks["due"] < as_of]
        overdue = before_as_of[before_as_of["done"].isna() | (before_as_of["done"] > as_of)]
        put("overdue_open", q, len(overdue), len(before_as_of))
        gaps = due[due["accountable"].isna() | ~due["owner_id"].isin(roster_ids) | ~due["accountable"].isin(roster_ids)]
        put("raci_gaps", q, len(gaps), len(due))
        # the example ties tasks by their own goal_id only (no [workstreams] in the default config)
        tied = due[due["goal_id"].str.strip() != ""]
        put("goal_focus_share", q, _ratio(len(tied), len(due)), len(due))
        put("goal_tied_tasks", q, len(tied), len(due))

        # leadership
        owned = tasks[(tasks["due"] >= start) & (tasks["due"] <= end)]["owner_id"]
        facilitated = held["facilitator"].dropna()
        figures = {}
        for source, ids in (("tasks", owned), ("facilitation", facilitated)):
            if len(ids):
                shares = ids.value_counts(normalize=True)
                figures[source] = (shares.max(), (shares ** 2).sum(), float(shares.max() > 0.40), len(ids))
            else:
                figures[source] = (None, None, None, 0)
            conc, hhi, risk, n = figures[source]
            put(f"leadership_concentration[{source}]", q, conc, n)
            put(f"ownership_hhi[{source}]", q, hhi, n)
            put(f"single_champion_risk[{source}]", q, risk, n)
        total = sum(f[3] for f in figures.values())
        for i, pid in enumerate(("leadership_concentration", "ownership_hhi", "single_champion_risk")):
            vals = [f[i] for f in figures.values() if f[i] is not None]
            put(pid, q, max(vals) if vals else None, total)

        # survey
        wave = survey[survey["wave"] == p]
        for item in ITEMS:
            answers = wave[item].dropna()
            n = len(answers)
            mean = answers.mean() if n else None
            sd = answers.std(ddof=1) if n > 1 else None
            half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) if sd is not None else None
            put(f"item_mean[{item}]", q, mean, n, True)
            put(f"item_sd[{item}]", q, sd, n, True)
            put(f"item_ci_low[{item}]", q, mean - half if half is not None else None, n, True)
            put(f"item_ci_high[{item}]", q, mean + half if half is not None else None, n, True)
            put(f"item_top2[{item}]", q, (answers >= 4).sum() / n if n else None, n, True)
            # change vs the last earlier wave with answers to the item
            earlier = [pp for pp in periods[: seq - 1] if survey.loc[survey["wave"] == pp, item].notna().any()]
            change = p_value = None
            n_pair = 0
            if n and earlier:
                last = survey.loc[survey["wave"] == earlier[-1], item].dropna()
                change, n_pair = mean - last.mean(), min(n, len(last))
                if n > 1 and len(last) > 1 and (answers.var(ddof=1) > 0 or last.var(ddof=1) > 0):
                    p_value = stats.ttest_ind(answers, last, equal_var=False).pvalue
            put(f"item_change[{item}]", q, change, n_pair, True)
            put(f"item_change_p[{item}]", q, p_value, n_pair, True)
            if item == "satisfaction":
                put("satisfaction_mean", q, mean, n, True)
                put("satisfaction_change", q, change, n_pair, True)
                put("satisfaction_change_p", q, p_value, n_pair, True)
        put("response_rate", q, _ratio(wave["member"].nunique(), len(roster_ids)), len(roster_ids))
        pooled = survey[survey["wave"].isin(periods[max(0, seq - 4): seq])].merge(
            members[["member_id", "tier"]], left_on="member", right_on="member_id")
        large = pooled.loc[pooled["tier"] == "large", "voice_heard"].dropna()
        small = pooled.loc[pooled["tier"] == "small", "voice_heard"].dropna()
        gap = large.mean() - small.mean() if len(large) and len(small) else None
        put("voice_gap", q, gap, min(len(large), len(small)), True)

        # goals
        flags = []
        for g in goals.itertuples():
            upto = measures[(measures["goal_id"] == g.goal_id) & (measures["day"] <= as_of)]
            latest = upto.sort_values(["day", "order"]).iloc[-1]["value"] if len(upto) else None
            sign = -1 if g.direction.strip().lower() == "decrease" else 1
            progress = sign * (latest - g.baseline) / abs(g.target - g.baseline) if latest is not None else None
            span = (g.target_day - g.baseline_day).days
            expected_p = min(1.0, max(0.0, (as_of - g.baseline_day).days / span))
            on_track = None if progress is None else float(progress >= expected_p - 0.10 - 1e-12)
            if on_track is not None:
                flags.append(on_track)
            put(f"goal_progress[{g.goal_id}]", q, progress, 1 if latest is not None else 0)
            put(f"expected_progress[{g.goal_id}]", q, expected_p, 1)
            put(f"on_track[{g.goal_id}]", q, on_track, 1 if latest is not None else 0)
        put("goals_on_track", q, sum(flags) / len(flags) if flags else None, len(flags))

        # milestones
        in_q = milestones[(milestones["day"] >= start) & (milestones["day"] <= as_of)]
        for k in MILESTONE_KINDS:
            put(f"milestones[{k}]", q, (in_q["kind"] == k).sum(), (in_q["kind"] == k).sum())
        put("milestones", q, len(in_q), len(in_q))
        quick = milestones[(milestones["kind"] == "quick_win") & (milestones["day"] >= first_join)
                           & (milestones["day"] <= first_join + pd.DateOffset(months=3)) & (milestones["day"] <= as_of)]
        put("quick_win_in_first_quarter", q, float(len(quick) > 0), None)
    return out
