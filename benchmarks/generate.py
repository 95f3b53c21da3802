"""Generate benchmark coalitions as CSV folders in the data contract's format (docs/data-contract.md).

Deterministic (seeded, numpy), vectorized, written with pandas to_csv. The eight tabs look like the
bundled example's (examples/riverside/csv): weekly, monthly, committee and quarterly meetings and
events; attendance with excused marks, unrecorded absences and marks typed in other cases; a
Google-Forms survey each quarter (US timestamps, organization names typed loosely, some waves
answered with labels, item non-response); tasks with US text dates; goals, measurements and
milestones. Each coalition carries a few bad rows that validation sets aside: an unknown member on
the attendance tab, a wholly blank row, a Likert answer of 6, a due date typed as words, a task id
used twice.

    python benchmarks/generate.py portfolio --n 10 --out bench_data/portfolio-10
        N coalition folders (sizes 0.5x-2x the example's members and history) and portfolio.toml
    python benchmarks/generate.py single --scale 1000 --out bench_data/single-1000x
        one coalition at that multiple of the example's attendance rows (1000x: ~1.3M rows over
        ~80 quarters: more members, more meetings, a longer history), plus coalition.toml
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

END = pd.Timestamp("2026-11-20")  # like the example: data runs into the current quarter
EXAMPLE_MEMBERS = 10
EXAMPLE_QUARTERS = 9  # 2024-Q4 .. 2026-Q4
QUESTIONS = None  # the default instrument's questions (filled lazily from coalition_metrics.config)
LABELS = np.array(["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"])
SECTORS = np.array(["health care", "education", "government", "business association", "nonprofit",
                    "faith-based"])
WORDS = np.array(["Riverside", "Eastside", "Northside", "Greenway", "Lakeview", "Hillcrest", "Maple", "Cedar",
                  "Harbor", "Union", "Valley", "Summit", "Prairie", "Oak", "Bridge", "Liberty"])
KINDS_OF_ORG = np.array(["Food Bank", "Health Center", "School District", "Housing Partners", "Youth Forward",
                         "Family Services", "Faith Alliance", "Parks & Recreation", "Public Health",
                         "Chamber of Commerce", "Legal Aid", "Arts Council"])
WORKSTREAMS = np.array(["Referrals", "Data sharing", "Policy", "Outreach", "Funding"])
ACTIVITIES = np.array(["draft the shared intake form", "collect partner data for the dashboard",
                       "brief the county board", "plan the community listening session",
                       "update the resource directory", "write the grant narrative", "recruit two youth advisors",
                       "map referral pathways", "prepare the quarterly newsletter",
                       "review the data-sharing agreement"])
MILESTONE_KINDS = np.array(["quick_win", "policy_win", "media", "funding", "other"])
MONTH_NAMES = np.array(["January", "February", "March", "April", "May", "June", "July", "August", "September",
                        "October", "November", "December"])


def questions() -> list[str]:
    global QUESTIONS
    if QUESTIONS is None:
        from coalition_metrics.config import DEFAULT_ITEMS
        QUESTIONS = list(DEFAULT_ITEMS.values())
    return QUESTIONS


@dataclass(frozen=True)
class Shape:
    members: int
    quarters: int  # history length, ending in END's quarter


def single_shape(scale: float) -> Shape:
    """The shape of one coalition with about `scale` times the example's attendance rows: the history
    grows with the cube root of the scale (1000x: 80 quarters, the most we generate), members take
    the rest."""
    quarters = int(min(80, max(EXAMPLE_QUARTERS, round(EXAMPLE_QUARTERS * scale ** (1 / 3)))))
    # (a longer history has more late joiners and leavers: a few more members keep the rows in step)
    members = max(EXAMPLE_MEMBERS,
                  round(EXAMPLE_MEMBERS * scale * EXAMPLE_QUARTERS / quarters * (1 + 0.035 * np.log10(max(1, scale)))))
    return Shape(members, quarters)


def us_date(d: pd.Series) -> pd.Series:
    """M/D/YYYY, as a US sheet's CSV export writes a date ('' for NaT)."""
    out = d.dt.month.astype("Int64").astype(str) + "/" + d.dt.day.astype("Int64").astype(str) + "/" \
        + d.dt.year.astype("Int64").astype(str)
    return out.where(d.notna(), "")


def us_timestamp(ts: pd.Series) -> pd.Series:
    return (us_date(ts) + " " + ts.dt.hour.astype(str) + ":" + ts.dt.strftime("%M:%S"))


def iso(d: pd.Series) -> pd.Series:
    return d.dt.strftime("%Y-%m-%d").where(d.notna(), "")


def quarter_start(d: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def generate(shape: Shape, seed: int, name: str = "Bench") -> dict[str, pd.DataFrame]:
    """The eight tabs of one coalition as frames of text cells."""
    rng = np.random.default_rng(seed)
    start = quarter_start(END) - pd.DateOffset(months=3 * (shape.quarters - 1))
    n_days = (END - start).days
    nm = shape.members

    # ---- members: the first five are there from the start to the end (conveners, facilitators)
    idx = np.arange(nm)
    member_id = np.char.add("M", np.char.zfill(np.arange(1, nm + 1).astype(str), len(str(nm)) + 1))
    org = np.char.add(np.char.add(WORDS[idx % len(WORDS)], " "), KINDS_OF_ORG[(idx // len(WORDS)) % len(KINDS_OF_ORG)])
    org = np.char.add(org, np.where(idx >= len(WORDS) * len(KINDS_OF_ORG),
                                    np.char.add(" ", (idx // (len(WORDS) * len(KINDS_OF_ORG)) + 1).astype(str)), ""))
    tier = rng.choice(np.array(["large", "medium", "small"]), nm, p=[0.25, 0.3, 0.45])
    tier[:3] = "large"
    sector = SECTORS[rng.integers(0, len(SECTORS), nm)]
    late = (rng.random(nm) < 0.25) & (idx >= 5)
    join_offset = np.where(late, rng.integers(0, max(1, n_days - 120), nm), rng.integers(0, 15, nm) * (idx >= 5))
    joined = start + pd.to_timedelta(join_offset, unit="D")
    leaves = (rng.random(nm) < 0.12) & (idx >= 5)
    # a member leaves at a quarter's end, some time after joining
    leave_q = pd.PeriodIndex(joined, freq="Q") + rng.integers(2, max(3, shape.quarters), nm)
    left = leave_q.end_time.normalize()
    left = pd.DatetimeIndex(np.where(leaves & (left < END), left, pd.NaT))
    role = np.where(idx == 0, "convener", np.where(idx < 3, "steering", "member"))
    members = pd.DataFrame({"member_id": member_id, "organization": org, "sector": sector, "size_tier": tier,
                            "joined_on": iso(pd.Series(joined)), "left_on": iso(pd.Series(left)), "role": role})

    # ---- meetings
    days = pd.date_range(start, END, freq="D")
    holiday = ((days.month == 12) & (days.day >= 23)) | ((days.month == 1) & (days.day <= 2))
    weekly = days[(days.day_of_week == 1) & ~holiday]
    dom = days.day
    monthly = days[(days.day_of_week == 3) & (dom <= 7)]
    committee = days[(days.day_of_week == 0) & (dom >= 15) & (dom <= 21)]
    quarterly = days[(days.day_of_week == 2) & (dom >= 8) & (dom <= 14) & np.isin(days.month, [2, 5, 8, 11])]
    events = days[(days.day_of_week == 5) & (dom >= 15) & (dom <= 21) & np.isin(days.month, [5])]
    parts = [(weekly, "WC", "weekly_call"), (monthly, "MC", "monthly_call"), (committee, "CM", "committee"),
             (quarterly, "QM", "quarterly_meeting"), (events, "EV", "event")]
    mt = pd.concat([pd.DataFrame({"date": d, "prefix": p, "kind": k}) for d, p, k in parts], ignore_index=True)
    mt = mt.sort_values(["date", "prefix"], kind="stable", ignore_index=True)
    mt["meeting_id"] = mt["prefix"] + "-" + mt["date"].dt.strftime("%Y-%m-%d")
    kind_text = mt["kind"].copy()
    typed = rng.random(len(mt)) < 0.05
    kind_text[typed] = kind_text[typed].str.replace("_", " ").str.title()
    facilitator = np.where(rng.random(len(mt)) < 0.6, member_id[0], member_id[rng.integers(1, 5, len(mt))])
    facilitator = np.where(mt["kind"] == "event", "", facilitator)
    meetings = pd.DataFrame({"meeting_id": mt["meeting_id"], "date": iso(mt["date"]), "kind": kind_text,
                             "committee": np.where(mt["kind"] == "committee", "Policy", ""),
                             "facilitator_id": facilitator})

    # ---- attendance: every (meeting, roster member) pair, thinned for committees and events
    mi, ui = np.meshgrid(np.arange(len(mt)), idx, indexing="ij")
    mi, ui = mi.ravel(), ui.ravel()
    mdate = mt["date"].to_numpy()[mi]
    joined_v, left_v = joined.to_numpy(), left.to_numpy()
    on_roster = (joined_v[ui] <= mdate) & (np.isnat(left_v[ui]) | (left_v[ui] >= mdate))
    kind = mt["kind"].to_numpy(dtype="U17")[mi]
    in_committee = (ui % 5 == 0) | (ui < 3)
    keep = on_roster & ((kind != "committee") | in_committee[ui])
    keep &= (kind != "event") | (rng.random(len(mi)) < 0.5)
    mi, ui, mdate = mi[keep], ui[keep], mdate[keep]
    # presence: a base per member, some members fading over their last quarters
    base = rng.uniform(0.55, 0.95, nm)
    fade = np.where(rng.random(nm) < 0.15, rng.uniform(0.2, 0.6, nm), 0.0)
    t = (mdate - np.datetime64(start)) / np.timedelta64(max(1, n_days), "D")
    p = np.clip(base[ui] - fade[ui] * np.clip((t - 0.7) / 0.3, 0, 1), 0.05, 0.99)
    r = rng.random(len(mi))
    code = np.where(r < p, 0, np.where(r < p + 0.06, 1, 2))  # present, excused, absent
    unrecorded = (code == 2) & (rng.random(len(mi)) < 0.4)  # a missing row counts as absent
    mi, ui, code = mi[~unrecorded], ui[~unrecorded], code[~unrecorded]
    odd = rng.random(len(code)) < 0.04  # typed "Present" or "Present "
    code = np.where(odd, code + np.where(rng.random(len(code)) < 0.5, 3, 6), code)
    # categorical columns: the same text written, without a million Python strings
    blank_meeting, unknown_member, blank_member, blank_status = len(mt), nm, nm + 1, 9
    at = len(mi) // 3
    mi = np.insert(mi, [at, len(mi) // 2], [mi[at], blank_meeting])  # an unknown member; a blank row
    ui = np.insert(ui, [at, len(ui) // 2], [unknown_member, blank_member])
    code = np.insert(code, [at, len(code) // 2], [0, blank_status])
    attendance = pd.DataFrame({
        "meeting_id": pd.Categorical.from_codes(mi, [*mt["meeting_id"], ""]),
        "member_id": pd.Categorical.from_codes(ui, [*member_id, "X" + member_id[0][1:] + "9", ""]),
        "status": pd.Categorical.from_codes(code, ["present", "excused", "absent", "Present", "Excused", "Absent",
                                                   "Present ", "Excused ", "Absent ", ""])})

    # ---- survey: each quarter's last month, ~85% of the roster answering between the 8th and the 26th
    waves = pd.date_range(start, END, freq="QS").map(lambda q: q + pd.DateOffset(months=2))
    waves = waves[waves + pd.Timedelta(days=27) <= END]
    wi, ri = np.meshgrid(np.arange(len(waves)), idx, indexing="ij")
    wi, ri = wi.ravel(), ri.ravel()
    wstart = waves.to_numpy()[wi]
    wend = (waves + pd.offsets.MonthEnd(0)).to_numpy()[wi]
    answering = (joined_v[ri] <= wstart) & (np.isnat(left_v[ri]) | (left_v[ri] >= wend))
    answering &= rng.random(len(wi)) < 0.85
    wi, ri = wi[answering], ri[answering]
    ts = (waves.to_numpy()[wi] + np.timedelta64(7, "D")
          + rng.integers(0, 18 * 24 * 3600, len(wi)).astype("timedelta64[s]"))
    mean = np.select([tier[ri] == "large", tier[ri] == "medium"], [4.1, 3.7], 3.4)
    scores = np.clip(np.rint(rng.normal(mean[:, None], 0.8, (len(wi), 6))), 1, 5).astype(int)
    cells = scores.astype(str).astype(object)
    labelled_wave = rng.random(len(waves)) < 0.15
    as_label = labelled_wave[wi][:, None] & (rng.random(scores.shape) < 0.5)
    cells[as_label] = LABELS[scores[as_label] - 1]
    cells[rng.random(scores.shape) < 0.03] = ""
    who = org[ri].astype(object)
    loose = rng.random(len(ri)) < 0.15
    who[loose] = np.char.add(np.char.lower(org[ri][loose].astype(str)), " ")
    survey = pd.DataFrame(cells, columns=questions())
    survey.insert(0, "Organization", who)
    survey.insert(0, "_ts", ts)
    survey = survey.sort_values("_ts", kind="stable", ignore_index=True)
    if len(survey):
        survey.iloc[len(survey) // 3, 3] = "6"  # a Likert answer of 6
    survey.insert(0, "Timestamp", us_timestamp(survey["_ts"]))
    survey = survey.drop(columns="_ts")

    # ---- tasks: 2-3 a month for 10 members, more for a bigger coalition
    months = pd.date_range(start, END, freq="MS")
    per_month = rng.integers(2, 4, len(months)) * max(1, round(nm / EXAMPLE_MEMBERS))
    mo = np.repeat(np.arange(len(months)), per_month)
    nt = len(mo)
    due = months.to_numpy()[mo] + rng.integers(4, 27, nt).astype("timedelta64[D]")
    created = np.maximum(np.datetime64(start), due - rng.integers(20, 70, nt).astype("timedelta64[D]"))
    owner = np.where(rng.random(nt) < 0.25, 0, rng.integers(0, nm, nt))
    owner_ok = ((joined_v[owner] <= created) & (np.isnat(left_v[owner]) | (left_v[owner] >= due)))
    owner = np.where(owner_ok, owner, 0)
    r = rng.random(nt)
    done_by = np.where(r < 0.65, due - rng.integers(0, 10, nt).astype("timedelta64[D]"),
                       due + rng.integers(3, 40, nt).astype("timedelta64[D]"))
    done_by = np.maximum(done_by, created + np.timedelta64(1, "D"))
    completed = np.where((r < 0.85) & (due <= np.datetime64(END)) & (done_by <= np.datetime64(END)), done_by,
                         np.datetime64("NaT"))
    status = np.where(~np.isnat(completed), "done", np.where(rng.random(nt) < 0.5, "in progress", "not started"))
    accountable = np.where(rng.random(nt) < 0.12, "", member_id[rng.integers(0, 3, nt)])
    ws = WORKSTREAMS[rng.integers(0, len(WORKSTREAMS), nt)]
    act = ACTIVITIES[rng.integers(0, len(ACTIVITIES), nt)]
    goal = np.select([act == "map referral pathways", act == "collect partner data for the dashboard",
                      ws == "Referrals", ws == "Policy"], ["G1", "G2", "G1", "G2"], "")
    task_id = np.char.add("T", np.char.zfill(np.arange(1, nt + 1).astype(str), max(3, len(str(nt)))))
    tasks = pd.DataFrame({"task_id": task_id, "title": np.char.add(np.char.add(ws, ": "), act), "workstream": ws,
                          "owner_id": member_id[owner], "accountable_id": accountable,
                          "created_on": us_date(pd.Series(created)), "due_on": us_date(pd.Series(due)),
                          "completed_on": us_date(pd.Series(completed)), "status": status, "goal_id": goal})
    if nt > 20:
        i = nt // 2  # a due date typed as words, and a task id used twice
        d = pd.Timestamp(due[i])
        tasks.loc[i, "due_on"] = f"{MONTH_NAMES[d.month - 1]} {d.day}, {d.year}"
        tasks.loc[i + 3, "task_id"] = tasks.loc[17, "task_id"]

    # ---- goals, quarterly measurements, milestones
    goals = pd.DataFrame({
        "goal_id": ["G1", "G2"],
        "statement": [f"Increase the share of children with an annual well-child visit ({name})",
                      f"Reduce emergency department visits for asthma among children ({name})"],
        "unit": ["% of children", "visits per 10,000 children"], "direction": ["increase", "decrease"],
        "baseline": [62, 85], "baseline_on": [iso(pd.Series([start]))[0]] * 2, "target": [75, 60],
        "target_on": [iso(pd.Series([END + pd.DateOffset(years=1)]))[0]] * 2})
    qends = pd.date_range(start, END, freq="QE")
    g1 = 62 + np.cumsum(rng.uniform(0.1, 0.6, len(qends)))
    g2 = 85 - np.cumsum(rng.uniform(-0.2, 0.8, len(qends)))
    measurements = pd.DataFrame({
        "goal_id": np.repeat([["G1", "G2"]], len(qends), axis=0).ravel(),
        "measured_on": np.repeat(iso(pd.Series(qends)).to_numpy(), 2),
        "value": np.column_stack([g1, g2]).round(1).ravel(),
        "note": np.where(rng.random(2 * len(qends)) < 0.8, "County data", "")})
    n_ms = max(3, shape.quarters)
    ms_date = start + pd.to_timedelta(np.sort(rng.integers(0, n_days, n_ms)), unit="D")
    ms_kind = MILESTONE_KINDS[rng.integers(0, len(MILESTONE_KINDS), n_ms)]
    ms_kind[0] = "quick_win"
    milestones = pd.DataFrame({
        "date": iso(pd.Series(ms_date)), "kind": ms_kind,
        "description": np.char.add("Milestone ", np.arange(1, n_ms + 1).astype(str)),
        "member_ids": np.char.add(np.char.add(member_id[0], ";"), member_id[rng.integers(1, 5, n_ms)])})
    return {"members": members, "meetings": meetings, "attendance": attendance, "survey": survey,
            "tasks": tasks, "goals": goals, "goal_measurements": measurements, "milestones": milestones}


def write_folder(tabs: dict[str, pd.DataFrame], folder: Path) -> int:
    """Write the tabs as CSV files; return the attendance rows written."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tabs.items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    return len(tabs["attendance"])


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_single(scale: float, out: Path, seed: int = 1) -> dict:
    shape = single_shape(scale)
    rows = write_folder(generate(shape, seed, f"{scale:g}x"), out / "csv")
    (out / "coalition.toml").write_text(
        f'[coalition]\nname = "Bench coalition at {scale:g}x"\n\n[source]\nlocation = "csv"\n\n'
        '[output]\npdf = false\n')
    return {"members": shape.members, "quarters": shape.quarters, "attendance_rows": rows}


def _write_one(job) -> int:
    shape, seed, cid, folder = job
    return write_folder(generate(shape, seed, cid), folder)


def write_portfolio(n: int, out: Path, seed: int = 7) -> dict:
    """N coalitions of 0.5x-2x the example's members and history, and portfolio.toml naming them; every
    fifth coalition keeps fiscal years from July and a few have names of their own."""
    rng = np.random.default_rng(seed)
    member_factor = np.exp(rng.uniform(np.log(0.5), np.log(2), n))
    history_factor = np.exp(rng.uniform(np.log(0.5), np.log(2), n))
    lines = ['# Benchmark portfolio written by benchmarks/generate.py', '[coalition]',
             'name = "Bench coalition"', '', '[output]', 'pdf = false', '']
    width = len(str(n))
    jobs = []
    for i in range(n):
        cid = f"c{i + 1:0{width}d}"
        shape = Shape(max(5, round(EXAMPLE_MEMBERS * member_factor[i])),
                      max(3, round(EXAMPLE_QUARTERS * history_factor[i])))
        jobs.append((shape, seed * 100_003 + i, cid, out / "coalitions" / cid))
        lines += ['[[portfolio.coalitions]]', f'id = "{cid}"']
        if i % 3 == 0:
            lines += ['[portfolio.coalitions.coalition]',
                      f'name = {toml_str(f"{WORDS[i % len(WORDS)]} Coalition {i + 1}")}']
        if i % 5 == 4:
            lines += ['[portfolio.coalitions.quarters]', 'fiscal_year_start_month = 7']
        lines += ['[portfolio.coalitions.source]', f'location = "coalitions/{cid}"', '']
    if n >= 50:  # both cores: each coalition is small, so per-frame overhead dominates
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(2) as pool:
            rows = sum(pool.map(_write_one, jobs, chunksize=25))
    else:
        rows = sum(map(_write_one, jobs))
    (out / "portfolio.toml").write_text("\n".join(lines))
    return {"coalitions": n, "attendance_rows": rows}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("portfolio")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=7)
    s = sub.add_parser("single")
    s.add_argument("--scale", type=float, required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    t = time.perf_counter()
    info = (write_portfolio(a.n, a.out, a.seed) if a.cmd == "portfolio" else write_single(a.scale, a.out, a.seed))
    print(f"wrote {a.out}: {info} in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
