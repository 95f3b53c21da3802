"""A vectorized pandas implementation of the metrics the SQL computes (transforms/marts/*.sql), the
baseline the SQL transform is benchmarked against.

It starts where the marts start: the staging and reference tables of a built database (read once
with ``read_inputs``), so both implementations begin from the same parsed rows. ``compute`` returns
rows keyed like marts.metric_values: (coalition_id,) metric_id, dimension, quarter, value, n. Every
step is a groupby, merge, merge_asof or searchsorted over whole columns; nothing loops over rows,
members or quarters. ``check`` compares with marts.metric_values for the metric ids covered here
and raises MetricsDisagree naming the first differing rows (values to 1e-9, n exactly).

A database built before staging carried coalition_id (a single run) is read as one coalition with
the id ''; every group and join below includes coalition_id either way.

    .venv/bin/python benchmarks/pandas_metrics.py path/to/coalition.duckdb
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

C = "coalition_id"
KEY = ["metric_id", "dimension", "quarter"]
SOURCES = ("tasks", "facilitation")

STAGING = ["stg_members", "stg_meetings", "stg_attendance", "stg_tasks", "stg_survey_answers",
           "stg_survey_responses", "stg_goals", "stg_goal_measurements", "stg_milestones"]
REF = ["quarters", "params", "cadence", "counted_kinds", "survey_items", "t_critical", "workstreams",
       "enum_values", "survey_scales", "survey_scale_items"]
GLOBAL_REF = {"t_critical"}

COVERED = (
    "meetings_held", "cadence_adherence", "attendance_rate", "member_attendance_rate", "active_members",
    "engagement_rate", "retention_rate", "disengagement_alerts", "task_completion_rate", "on_time_rate",
    "overdue_open", "raci_gaps", "goal_focus_share", "goal_tied_tasks", "leadership_concentration",
    "ownership_hhi", "single_champion_risk", "satisfaction_mean", "item_mean", "item_sd", "item_ci_low",
    "item_ci_high", "item_top2", "satisfaction_change", "satisfaction_change_p", "item_change", "item_change_p",
    "response_rate", "voice_gap", "scale_mean", "scale_ci_low", "scale_ci_high", "goal_progress",
    "expected_progress", "on_track", "goals_on_track", "milestones", "quick_win_in_first_quarter",
)


class MetricsDisagree(AssertionError):
    pass


# ---------------------------------------------------------------------------------------------
def read_inputs(con) -> dict[str, pd.DataFrame]:
    """The staging and reference tables the marts read, as frames. Without coalition_id (a single
    run's database) every table gets coalition_id ''; a reference table without it in a portfolio
    database holds for every coalition (of ref.quarters)."""
    frames = {}
    for name in STAGING:
        frames[name] = con.execute(f"select * from staging.{name}").df()
    for name in REF:
        frames[name] = con.execute(f"select * from ref.{name}").df()
    portfolio = C in frames["quarters"].columns
    ids = frames["quarters"][[C]].drop_duplicates() if portfolio else None
    for name, f in list(frames.items()):
        if name in GLOBAL_REF or C in f.columns:
            continue
        if portfolio and name in REF:
            frames[name] = ids.merge(f, how="cross")
        else:
            f.insert(0, C, "")
    return frames


def _rows(metric_id, frame, value, n, dimension=None, quarter="quarter"):
    """metric_values rows from a frame: value and n are column names or Series."""
    out = pd.DataFrame({
        C: frame[C].to_numpy(),
        "metric_id": metric_id,
        "dimension": frame[dimension].to_numpy() if dimension else None,
        "quarter": frame[quarter].to_numpy(),
        "value": (frame[value] if isinstance(value, str) else value).to_numpy(dtype="float64", na_value=np.nan),
        "n": (frame[n] if isinstance(n, str) else n).to_numpy(dtype="float64", na_value=np.nan),
    })
    return out


def _ratio(num, den):
    num = pd.Series(num, dtype="float64")
    den = pd.Series(den, dtype="float64")
    return (num / den).where(den.fillna(0) != 0)


def _days(s: pd.Series) -> np.ndarray:
    """Dates as day numbers (int64; NaT as a very large number, so it is never <= a date)."""
    v = s.to_numpy(dtype="datetime64[D]")
    out = v.astype("int64")
    out[np.isnat(v)] = np.iinfo(np.int64).max // 4
    return out


def _params(inp) -> pd.DataFrame:
    return inp["params"]


# ---------------------------------------------------------------------------------------------
def meetings(inp, q):
    mt = inp["stg_meetings"]
    held = mt.merge(q[[C, "quarter", "as_of"]], on=[C, "quarter"])
    held = held[held["meeting_on"] <= held["as_of"]]
    held = held.groupby([C, "quarter", "kind"], as_index=False).size().rename(columns={"size": "held"})
    grid = q.merge(inp["cadence"], on=C).merge(held, on=[C, "quarter", "kind"], how="left")
    grid["held"] = grid["held"].fillna(0)
    elapsed = (grid["as_of"] - grid["start_on"]).dt.days + 1
    span = (grid["end_on"] - grid["start_on"]).dt.days + 1
    expected = grid["expected_per_quarter"] * elapsed / span
    grid["adherence"] = np.minimum(1.0, grid["held"] / expected).where(grid["expected_per_quarter"] > 0)
    total = grid.groupby([C, "quarter"], as_index=False)["held"].sum()
    has = grid[grid["expected_per_quarter"] > 0]
    mean = has.groupby([C, "quarter"], as_index=False).agg(adherence=("adherence", "mean"), held=("held", "sum"))
    return [_rows("meetings_held", grid, "held", "held", "kind"),
            _rows("meetings_held", total, "held", "held"),
            _rows("cadence_adherence", has, "adherence", "held", "kind"),
            _rows("cadence_adherence", mean, "adherence", "held")]


def roster_by_quarter(inp, q):
    m = inp["stg_members"][[C, "member_id", "joined_on", "left_on", "size_tier"]]
    r = q[[C, "quarter", "seq", "start_on", "end_on", "as_of"]].merge(m, on=C)
    on = (r["joined_on"] <= r["end_on"]) & (r["left_on"].isna() | (r["left_on"] >= r["start_on"]))
    return r[on]


def expected_attendance(inp, q):
    """marts.expected_attendance: counted meetings up to their quarter's as_of x members on the roster
    on the meeting date, with the attendance status (absent when no row)."""
    mt = inp["stg_meetings"]
    mt = mt[mt["is_counted_kind"].fillna(False).astype(bool)].merge(q[[C, "quarter", "as_of"]], on=[C, "quarter"])
    mt = mt[mt["meeting_on"] <= mt["as_of"]][[C, "quarter", "meeting_id", "meeting_on", "kind"]]
    m = inp["stg_members"][[C, "member_id", "joined_on", "left_on"]]
    e = mt.merge(m, on=C)
    e = e[(e["joined_on"] <= e["meeting_on"]) & (e["left_on"].isna() | (e["left_on"] >= e["meeting_on"]))]
    att = inp["stg_attendance"][[C, "meeting_id", "member_id", "status"]]
    e = e.drop(columns=["joined_on", "left_on"]).merge(att, on=[C, "meeting_id", "member_id"], how="left")
    e["status"] = e["status"].fillna("absent")
    return e


def _status_counts(e, keys):
    s = e["status"]
    c = (e.assign(p=(s == "present").astype("int64"), a=(s == "absent").astype("int64"))
         .groupby(keys, as_index=False)[["p", "a"]].sum())
    return c


def attendance(inp, q, e, roster):
    by_q = q[[C, "quarter"]].merge(_status_counts(e, [C, "quarter"]), on=[C, "quarter"], how="left").fillna({"p": 0, "a": 0})
    grid = q[[C, "quarter"]].merge(inp["counted_kinds"], on=C)
    by_k = grid.merge(_status_counts(e, [C, "quarter", "kind"]), on=[C, "quarter", "kind"], how="left").fillna({"p": 0, "a": 0})
    by_m = roster[[C, "quarter", "seq", "member_id"]].merge(
        _status_counts(e, [C, "quarter", "member_id"]), on=[C, "quarter", "member_id"], how="left").fillna({"p": 0, "a": 0})
    for f in (by_q, by_k, by_m):
        f["rate"] = _ratio(f["p"], f["p"] + f["a"])
        f["n"] = f["p"] + f["a"]
    return by_m, [_rows("attendance_rate", by_q, "rate", "n"),
                  _rows("attendance_rate", by_k, "rate", "n", "kind"),
                  _rows("member_attendance_rate", by_m, "rate", "n", "member_id")]


def engagement(inp, q, e, roster, by_m):
    mt = inp["stg_meetings"]
    mt = mt[mt["is_counted_kind"].fillna(False).astype(bool)].merge(q[[C, "quarter", "as_of"]], on=[C, "quarter"])
    counted = mt[mt["meeting_on"] <= mt["as_of"]].groupby([C, "quarter"]).size().rename("counted")
    active = e.loc[e["status"] == "present", [C, "quarter", "member_id"]].drop_duplicates()
    r = roster[[C, "quarter", "member_id"]].merge(active.assign(active=1), on=[C, "quarter", "member_id"], how="left")
    per = r.groupby([C, "quarter"]).agg(roster=("member_id", "size"), active=("active", "count"))
    f = q[[C, "quarter", "seq"]].join(per, on=[C, "quarter"]).join(counted, on=[C, "quarter"])
    f = f.fillna({"roster": 0, "active": 0, "counted": 0})
    # retention: members active in the quarter before (seq - 1) who are active in this one
    a = active.merge(q[[C, "quarter", "seq"]], on=[C, "quarter"])
    before = a.assign(seq=a["seq"] + 1)
    kept = before.merge(a[[C, "seq", "member_id"]].assign(kept=1), on=[C, "seq", "member_id"], how="left")
    ret = kept.groupby([C, "seq"]).agg(last=("member_id", "size"), kept=("kept", "count"))
    f = f.join(ret, on=[C, "seq"]).fillna({"last": 0, "kept": 0})
    met = f["counted"] > 0
    f["active_v"] = f["active"].where(met)
    f["engagement"] = _ratio(f["active"], f["roster"]).where(met)
    f["retention"] = _ratio(f["kept"], f["last"]).where(met & (f["seq"] > 1))
    alerts = disengagement_alerts(inp, q, e, by_m)
    count = alerts.groupby([C, "quarter"])["member_id"].nunique().rename("alerts")
    f = f.join(count, on=[C, "quarter"]).fillna({"alerts": 0})
    return [_rows("active_members", f, "active_v", "roster"),
            _rows("engagement_rate", f, "engagement", "roster"),
            _rows("retention_rate", f, "retention", "last"),
            _rows("disengagement_alerts", f, "alerts", "roster")]


def disengagement_alerts(inp, q, e, by_m):
    """(coalition, quarter, member) flagged: an attendance drop of >= alert_drop from last quarter, or
    absent from the last alert_absences non-excused expected meetings up to as_of."""
    p = _params(inp)[[C, "alert_drop", "alert_absences"]]
    m = inp["stg_members"][[C, "member_id", "joined_on", "left_on"]]
    on = q[[C, "quarter", "seq", "as_of"]].merge(m, on=C)
    on = on[(on["joined_on"] <= on["as_of"]) & (on["left_on"].isna() | (on["left_on"] >= on["as_of"]))]
    on = on[[C, "quarter", "seq", "as_of", "member_id"]].merge(p, on=C)
    # drops
    rates = by_m[[C, "seq", "member_id", "rate"]]
    last = rates.assign(seq=rates["seq"] + 1).rename(columns={"rate": "last_rate"})
    d = on.merge(rates, on=[C, "seq", "member_id"]).merge(last, on=[C, "seq", "member_id"])
    drops = d[d["rate"] <= d["last_rate"] - d["alert_drop"] + 1e-9][[C, "quarter", "member_id"]]
    # streaks: the run of consecutive absences ending at each non-excused expected meeting, in
    # (meeting_on, meeting_id) order per member; the last one up to as_of must reach alert_absences
    x = e.loc[e["status"] != "excused", [C, "member_id", "meeting_on", "meeting_id", "status"]]
    x = x.sort_values([C, "member_id", "meeting_on", "meeting_id"], kind="stable", ignore_index=True)
    absent = x["status"] == "absent"
    block = (~absent).cumsum()
    x["run"] = absent.astype("int64").groupby([x[C], x["member_id"], block]).cumsum()
    x = x.sort_values("meeting_on", kind="stable")
    left = on.sort_values("as_of", kind="stable")
    left["as_of"] = left["as_of"].astype(x["meeting_on"].dtype)
    hit = pd.merge_asof(left, x[[C, "member_id", "meeting_on", "run"]], left_on="as_of", right_on="meeting_on",
                        by=[C, "member_id"], direction="backward", allow_exact_matches=True)
    streaks = hit[hit["run"].fillna(0) >= hit["alert_absences"]][[C, "quarter", "member_id"]]
    return pd.concat([drops, streaks], ignore_index=True)


def _count_upto(keys_sorted: np.ndarray, code: np.ndarray, limit: np.ndarray, base: int) -> np.ndarray:
    """For each (code, limit): how many keys code*base + day have day <= limit (keys sorted)."""
    hi = np.searchsorted(keys_sorted, code * base + limit, side="right")
    lo = np.searchsorted(keys_sorted, code * base - base // 2, side="left")
    return hi - lo


def tasks(inp, q, roster):
    t = inp["stg_tasks"]
    t = t[t["due_on"].notna()].copy()
    qq = q[[C, "quarter", "seq", "start_on", "end_on", "as_of"]].sort_values("start_on", kind="stable")
    t = t.sort_values("due_on", kind="stable")
    t["due_on"] = t["due_on"].astype(qq["start_on"].dtype)
    due = pd.merge_asof(t, qq, left_on="due_on", right_on="start_on", by=C, direction="backward")
    due = due[due["quarter"].notna() & (due["due_on"] <= due["as_of"])]
    done = due["completed_on"].notna() & (due["completed_on"] <= due["as_of"])
    on_time = done & (due["completed_on"] <= due["due_on"])
    rk = roster[[C, "quarter", "member_id"]].assign(ok=True)
    own = due[[C, "quarter", "owner_id"]].merge(rk.rename(columns={"member_id": "owner_id"}),
                                                 on=[C, "quarter", "owner_id"], how="left")["ok"].notna().to_numpy()
    acc = due[[C, "quarter", "accountable_id"]].merge(rk.rename(columns={"member_id": "accountable_id"}),
                                                       on=[C, "quarter", "accountable_id"], how="left")["ok"].notna().to_numpy()
    gap = due["accountable_id"].isna().to_numpy() | (due["owner_id"].notna().to_numpy() & ~own) | ~acc
    due = due.assign(done=done.astype("int64"), on_time=on_time.astype("int64"), gap=gap.astype("int64"),
                     tied=due["tied_goal_id"].notna().astype("int64"))
    counts = due.groupby([C, "quarter"])[["done", "on_time", "gap", "tied"]].sum()
    counts["due"] = due.groupby([C, "quarter"]).size()
    f = q[[C, "quarter", "seq", "as_of"]].join(counts, on=[C, "quarter"])
    f = f.fillna({"due": 0, "done": 0, "on_time": 0, "gap": 0, "tied": 0})
    # overdue_open, over every task: due before as_of (due + 1 <= as_of), and not completed by as_of
    # (completed_on <= as_of fails): counted with sorted day numbers per coalition
    all_t = inp["stg_tasks"]
    all_t = all_t[all_t["due_on"].notna()]
    codes = pd.Index(pd.unique(pd.concat([q[C], all_t[C]])))
    base = 1 << 22
    tc = codes.get_indexer(all_t[C])
    due_day = _days(all_t["due_on"]) + 1
    closed_day = np.maximum(due_day, _days(all_t["completed_on"]))
    k_due = np.sort(tc * base + due_day)
    k_closed = np.sort(tc * base + np.minimum(closed_day, base // 2 - 1))
    qc, qa = codes.get_indexer(f[C]), _days(f["as_of"])
    f["before"] = _count_upto(k_due, qc, qa, base)
    f["overdue"] = f["before"] - _count_upto(k_closed, qc, qa, base)
    declared = (all_t.groupby(C)["goal_id"].count() > 0).reindex(codes, fill_value=False)
    declared |= inp["workstreams"].groupby(C).size().reindex(codes, fill_value=0) > 0
    dec = declared.reindex(f[C]).to_numpy()
    f["completion"] = _ratio(f["done"], f["due"])
    f["on_time_rate"] = _ratio(f["on_time"], f["done"])
    f["focus"] = _ratio(f["tied"], f["due"]).where(dec)
    f["tied_v"] = f["tied"].where(dec)
    return [_rows("task_completion_rate", f, "completion", "due"), _rows("on_time_rate", f, "on_time_rate", "done"),
            _rows("overdue_open", f, "overdue", "before"), _rows("raci_gaps", f, "gap", "due"),
            _rows("goal_focus_share", f, "focus", "due"), _rows("goal_tied_tasks", f, "tied_v", "due")]


def leadership(inp, q):
    t = inp["stg_tasks"]
    t = t[t["due_on"].notna() & t["owner_id"].notna()].sort_values("due_on", kind="stable")
    qq = q[[C, "quarter", "start_on", "end_on", "as_of"]].sort_values("start_on", kind="stable")
    t = t.assign(due_on=t["due_on"].astype(qq["start_on"].dtype))
    owned = pd.merge_asof(t[[C, "due_on", "owner_id"]], qq, left_on="due_on", right_on="start_on", by=C)
    owned = owned[owned["quarter"].notna() & (owned["due_on"] <= owned["end_on"])]
    owned = owned.assign(source="tasks").rename(columns={"owner_id": "member_id"})[[C, "quarter", "source", "member_id"]]
    mt = inp["stg_meetings"]
    mt = mt[mt["facilitator_id"].notna()].merge(q[[C, "quarter", "as_of"]], on=[C, "quarter"])
    fac = mt[mt["meeting_on"] <= mt["as_of"]].assign(source="facilitation").rename(columns={"facilitator_id": "member_id"})
    items = pd.concat([owned, fac[[C, "quarter", "source", "member_id"]]], ignore_index=True)
    per = items.groupby([C, "quarter", "source", "member_id"]).size().rename("c").reset_index()
    per["c2"] = per["c"] * per["c"]
    s = per.groupby([C, "quarter", "source"]).agg(total=("c", "sum"), top=("c", "max"), sq=("c2", "sum"))
    s["conc"] = s["top"] / s["total"]
    s["hhi"] = s["sq"] / (s["total"] * s["total"])
    grid = q[[C, "quarter"]].merge(pd.DataFrame({"source": SOURCES}), how="cross").join(s, on=[C, "quarter", "source"])
    grid["total"] = grid["total"].fillna(0)
    share = _params(inp)[[C, "champion_share"]]
    grid = grid.merge(share, on=C)
    grid["risk"] = (grid["conc"] > grid["champion_share"]).astype("float64").where(grid["conc"].notna())
    overall = grid.groupby([C, "quarter"], as_index=False).agg(
        conc=("conc", "max"), hhi=("hhi", "max"), risk=("risk", "max"), total=("total", "sum"))
    return [_rows("leadership_concentration", grid, "conc", "total", "source"),
            _rows("ownership_hhi", grid, "hhi", "total", "source"),
            _rows("single_champion_risk", grid, "risk", "total", "source"),
            _rows("leadership_concentration", overall, "conc", "total"),
            _rows("ownership_hhi", overall, "hhi", "total"),
            _rows("single_champion_risk", overall, "risk", "total")]


def survey(inp, q):
    from scipy import stats as st

    items = inp["survey_items"][[C, "item", "scale_max"]]
    a = inp["stg_survey_answers"][[C, "wave", "item", "score"]].rename(columns={"wave": "quarter"})
    a = a[a["score"].notna()].merge(items, on=[C, "item"]).merge(q[[C, "quarter"]], on=[C, "quarter"])
    a["top2"] = (a["score"] >= a["scale_max"] - 1).astype("int64")
    g = a.groupby([C, "quarter", "item"]).agg(n=("score", "size"), mean=("score", "mean"), sd=("score", "std"),
                                               top2=("top2", "sum"))
    grid = q[[C, "quarter", "seq"]].merge(items[[C, "item"]], on=C).join(g, on=[C, "quarter", "item"])
    grid["n"] = grid["n"].fillna(0)
    t = inp["t_critical"].set_index("df")["t975"]
    half = t.reindex(grid["n"] - 1).to_numpy() * grid["sd"] / np.sqrt(grid["n"])
    grid["low"], grid["high"] = grid["mean"] - half, grid["mean"] + half
    grid["top2_share"] = _ratio(grid["top2"], grid["n"])
    p = _params(inp)[[C, "satisfaction_item", "voice_item", "is_anonymous", "voice_gap_waves"]]
    sat = grid.merge(p, on=C)
    sat = sat[sat["item"] == sat["satisfaction_item"]]
    # change from the last earlier wave with answers to the item, Welch's t-test
    grid = grid.sort_values([C, "item", "seq"], kind="stable", ignore_index=True)
    keys = [grid[C], grid["item"]]
    answered_seq = grid["seq"].where(grid["n"] > 0)
    grid["last_seq"] = answered_seq.groupby(keys).ffill().groupby(keys).shift(1)
    prev = grid.loc[grid["n"] > 0, [C, "item", "seq", "n", "mean", "sd"]].rename(
        columns={"seq": "last_seq", "n": "ln", "mean": "lm", "sd": "lsd"})
    prev["last_seq"] = prev["last_seq"].astype("float64")
    ch = grid.merge(prev, on=[C, "item", "last_seq"], how="left")
    both = (ch["n"] > 0) & (ch["ln"].fillna(0) > 0)
    ch["change"] = (ch["mean"] - ch["lm"]).where(both)
    ch["n_pair"] = np.minimum(ch["n"], ch["ln"].fillna(0)).where(both, 0)
    v1, v2 = ch["sd"] ** 2 / ch["n"], ch["lsd"] ** 2 / ch["ln"]
    se2 = v1 + v2
    tstat = (ch["change"] / np.sqrt(se2)).where(se2 > 0)
    dfw = (se2 * se2 / (v1 ** 2 / (ch["n"] - 1) + v2 ** 2 / (ch["ln"] - 1))).where((se2 > 0) & (ch["n"] > 1) & (ch["ln"] > 1))
    ok = tstat.notna() & dfw.notna() & (dfw > 0)
    pv = np.full(len(ch), np.nan)
    pv[ok.to_numpy()] = 2 * st.t.sf(np.abs(tstat[ok].to_numpy()), dfw[ok].to_numpy())
    ch["p"] = pv
    csat = ch.merge(p[[C, "satisfaction_item"]], on=C)
    csat = csat[csat["item"] == csat["satisfaction_item"]]
    # response rate: distinct respondents (responses, when anonymous) / roster
    r = inp["stg_survey_responses"]
    rc = r.groupby([C, "wave"]).agg(responses=("response_id", "size"), respondents=("member_id", "nunique"))
    roster = roster_by_quarter(inp, q).groupby([C, "quarter"]).size().rename("roster")
    rr = q[[C, "quarter"]].join(rc, on=[C, "quarter"]).join(roster, on=[C, "quarter"]).merge(p, on=C)
    rr = rr.fillna({"responses": 0, "respondents": 0, "roster": 0})
    rr["rate"] = _ratio(np.where(rr["is_anonymous"].astype(bool), rr["responses"], rr["respondents"]), rr["roster"])
    return [_rows("satisfaction_mean", sat, "mean", "n"),
            _rows("item_mean", grid, "mean", "n", "item"), _rows("item_sd", grid, "sd", "n", "item"),
            _rows("item_ci_low", grid, "low", "n", "item"), _rows("item_ci_high", grid, "high", "n", "item"),
            _rows("item_top2", grid, "top2_share", "n", "item"),
            _rows("satisfaction_change", csat, "change", "n_pair"),
            _rows("satisfaction_change_p", csat, "p", "n_pair"),
            _rows("item_change", ch, "change", "n_pair", "item"), _rows("item_change_p", ch, "p", "n_pair", "item"),
            _rows("response_rate", rr, "rate", "roster"), voice_gap(inp, q, p)]


def voice_gap(inp, q, p):
    """Large minus small members' mean voice score, pooled over the last voice_gap_waves waves:
    rolling sums over each coalition's quarters (seq)."""
    a = inp["stg_survey_answers"][[C, "wave", "member_id", "item", "score"]]
    a = a.merge(p[[C, "voice_item"]], on=C)
    a = a[(a["item"] == a["voice_item"]) & a["score"].notna()]
    a = a.merge(inp["stg_members"][[C, "member_id", "size_tier"]], on=[C, "member_id"])
    a = a[a["size_tier"].isin(["large", "small"])].merge(
        q[[C, "quarter", "seq"]].rename(columns={"quarter": "wave"}), on=[C, "wave"])
    per = a.groupby([C, "seq", "size_tier"])["score"].agg(["sum", "count"]).unstack("size_tier", fill_value=0)
    per.columns = [f"{s}_{t}" for s, t in per.columns]
    for col in ("sum_large", "sum_small", "count_large", "count_small"):
        if col not in per.columns:
            per[col] = 0.0
    qq = q[[C, "quarter", "seq"]].merge(p[[C, "voice_item", "voice_gap_waves"]], on=C)
    qq = qq[qq["voice_item"].notna()].sort_values([C, "seq"], ignore_index=True)
    f = qq.join(per, on=[C, "seq"]).fillna({c: 0 for c in per.columns})
    cols = ["sum_large", "sum_small", "count_large", "count_small"]
    cum = f.groupby(C)[cols].cumsum()
    # window of W waves: cum(seq) - cum(seq - W), seq being consecutive from 1 within a coalition
    w = f["voice_gap_waves"].astype("int64").to_numpy()
    pos = np.arange(len(f))
    start_pos = pos - f.groupby(C).cumcount().to_numpy()
    back = pos - w
    lagged = np.where((back >= start_pos)[:, None], cum.to_numpy()[np.maximum(back, 0)], 0.0)
    win = pd.DataFrame(cum.to_numpy() - lagged, columns=cols, index=f.index)
    mean_l = (win["sum_large"] / win["count_large"]).where(win["count_large"] > 0)
    mean_s = (win["sum_small"] / win["count_small"]).where(win["count_small"] > 0)
    f["gap"] = mean_l - mean_s
    f["n"] = np.minimum(win["count_large"], win["count_small"])
    return _rows("voice_gap", f, "gap", "n")


def _t_interval(frame, t_critical):
    t = t_critical.set_index("df")["t975"]
    half = t.reindex(frame["n"] - 1).to_numpy() * frame["sd"] / np.sqrt(frame["n"])
    return frame["mean"] - half, frame["mean"] + half


def scales(inp, q):
    """A response's scale score: the mean of the scale's items it answered, when at least min_items."""
    a = inp["stg_survey_answers"][[C, "response_id", "wave", "member_id", "item", "score"]]
    a = a.merge(inp["survey_scale_items"][[C, "item", "scale"]], on=[C, "item"])
    per = a.groupby([C, "response_id", "wave", "member_id", "scale"], dropna=False).agg(
        score=("score", "mean"), answered=("score", "count")).reset_index()
    per = per.merge(inp["survey_scales"][[C, "scale", "min_items"]], on=[C, "scale"])
    per = per[per["answered"] >= per["min_items"]].rename(columns={"wave": "quarter"})
    per = per.merge(q[[C, "quarter"]], on=[C, "quarter"])
    st = per.groupby([C, "quarter", "scale"]).agg(n=("score", "count"), mean=("score", "mean"), sd=("score", "std"))
    grid = q[[C, "quarter"]].merge(inp["survey_scales"][[C, "scale"]], on=C).join(st, on=[C, "quarter", "scale"])
    grid["n"] = grid["n"].fillna(0)
    grid["low"], grid["high"] = _t_interval(grid, inp["t_critical"])
    return [_rows("scale_mean", grid, "mean", "n", "scale"), _rows("scale_ci_low", grid, "low", "n", "scale"),
            _rows("scale_ci_high", grid, "high", "n", "scale")]


def goals(inp, q):
    """Progress from the latest measurement up to as_of (merge_asof, ties to the later sheet row)."""
    g = inp["stg_goals"]
    grid = q[[C, "quarter", "seq", "as_of"]].merge(g[[C, "goal_id", "direction", "baseline", "target", "baseline_on",
                                                       "target_on"]], on=C)
    m = inp["stg_goal_measurements"]
    m = m[m["measured_on"].notna()].sort_values(["measured_on", "sheet_row"], kind="stable")
    left = grid.sort_values("as_of", kind="stable")
    left["as_of"] = left["as_of"].astype(m["measured_on"].dtype)
    j = pd.merge_asof(left, m[[C, "goal_id", "measured_on", "value"]], left_on="as_of", right_on="measured_on",
                      by=[C, "goal_id"], direction="backward")
    sign = np.where(j["direction"] == "decrease", -1.0, 1.0)
    j["progress"] = (sign * (j["value"] - j["baseline"]) / (j["target"] - j["baseline"]).abs()).where(
        j["target"] != j["baseline"])
    span = (j["target_on"] - j["baseline_on"]).dt.days
    elapsed = (j["as_of"] - j["baseline_on"].astype(j["as_of"].dtype)).dt.days
    j["expected"] = np.clip(elapsed / span, 0.0, 1.0).where(j["target_on"] > j["baseline_on"])
    margin = inp["params"][[C, "on_track_margin"]]
    j = j.merge(margin, on=C)
    both = j["progress"].notna() & j["expected"].notna()
    j["on_track"] = (j["progress"] >= j["expected"] - j["on_track_margin"] - 1e-12).astype("float64").where(both)
    j["measured"] = j["value"].notna().astype("float64")
    per = j.groupby([C, "quarter"]).agg(share=("on_track", "mean"), n=("on_track", "count"))
    all_q = q[[C, "quarter"]].join(per, on=[C, "quarter"]).fillna({"n": 0})
    return [_rows("goal_progress", j, "progress", "measured", "goal_id"),
            _rows("expected_progress", j, "expected", pd.Series(1.0, index=j.index), "goal_id"),
            _rows("on_track", j, "on_track", "measured", "goal_id"),
            _rows("goals_on_track", all_q, "share", "n")]


def milestones(inp, q):
    ms = inp["stg_milestones"]
    ms = ms[ms["milestone_on"].notna()].sort_values("milestone_on", kind="stable")
    qq = q[[C, "quarter", "start_on", "as_of"]].sort_values("start_on", kind="stable")
    ms = ms.assign(milestone_on=ms["milestone_on"].astype(qq["start_on"].dtype))
    j = pd.merge_asof(ms[[C, "milestone_on", "kind"]], qq, left_on="milestone_on", right_on="start_on", by=C)
    j = j[j["quarter"].notna() & (j["milestone_on"] <= j["as_of"])]
    counts = j.groupby([C, "quarter", "kind"]).size().rename("count")
    ev = inp["enum_values"]
    kinds = ev.loc[ev["enum"] == "milestone_kind", [C, "value"]].rename(columns={"value": "kind"})
    grid = q[[C, "quarter"]].merge(kinds, on=C).join(counts, on=[C, "quarter", "kind"]).fillna({"count": 0})
    total = grid.groupby([C, "quarter"], as_index=False)["count"].sum()
    # a quick win within 3 months of the earliest joined_on, on or before as_of
    first = inp["stg_members"].groupby(C)["joined_on"].min().rename("first")
    quick = ms[ms["kind"] == "quick_win"].join(first, on=C)
    quick = quick[(quick["milestone_on"] >= quick["first"])
                  & (quick["milestone_on"] <= quick["first"] + pd.DateOffset(months=3))]
    earliest = quick.groupby(C)["milestone_on"].min().rename("earliest")
    qw = q[[C, "quarter", "as_of"]].join(earliest, on=C)
    qw["flag"] = (qw["earliest"].notna() & (qw["earliest"] <= qw["as_of"])).astype("float64")
    if not len(kinds):
        qw = qw.iloc[:0]
    return [_rows("milestones", grid, "count", "count", "kind"), _rows("milestones", total, "count", "count"),
            _rows("quick_win_in_first_quarter", qw, "flag", pd.Series(np.nan, index=qw.index))]


# ---------------------------------------------------------------------------------------------
def compute(inp: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every covered metric, rows keyed like marts.metric_values (plus coalition_id)."""
    q = inp["quarters"]
    parts = meetings(inp, q)
    roster = roster_by_quarter(inp, q)
    e = expected_attendance(inp, q)
    by_m, att = attendance(inp, q, e, roster)
    parts += att
    parts += engagement(inp, q, e, roster, by_m)
    parts += tasks(inp, q, roster)
    parts += leadership(inp, q)
    parts += survey(inp, q)
    parts += scales(inp, q)
    parts += goals(inp, q)
    parts += milestones(inp, q)
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return out


def check(con, computed: pd.DataFrame, metric_ids=COVERED, tol: float = 1e-9) -> int:
    """Compare with marts.metric_values for metric_ids; return the rows compared, or raise
    MetricsDisagree listing the first disagreements (missing rows, values beyond tol, n differing)."""
    sql = con.execute("select * from marts.metric_values").df()
    if C not in sql.columns:
        sql.insert(0, C, "")
    sql = sql[sql["metric_id"].isin(metric_ids)]
    mine = computed[computed["metric_id"].isin(metric_ids)]
    keys = [C, *KEY]
    for f in (sql, mine):
        f["dimension"] = f["dimension"].astype(object).where(f["dimension"].notna(), "")
    dup = mine[mine.duplicated(keys, keep=False)]
    if len(dup):
        raise MetricsDisagree(f"pandas computed duplicate keys:\n{dup.head(10).to_string()}")
    j = sql[[*keys, "value", "n"]].merge(mine[[*keys, "value", "n"]], on=keys, how="outer",
                                          suffixes=("_sql", "_pd"), indicator=True)
    vs, vp = j["value_sql"].astype("float64"), j["value_pd"].astype("float64")
    ns, np_ = j["n_sql"].astype("float64"), j["n_pd"].astype("float64")
    value_bad = ~((vs.isna() & vp.isna()) | ((vs - vp).abs() <= tol * np.maximum(1.0, vs.abs())))
    n_bad = ~((ns.isna() & np_.isna()) | (ns == np_))
    bad = j[(j["_merge"] != "both") | value_bad | n_bad]
    if len(bad):
        by_metric = bad.groupby("metric_id").size().sort_values(ascending=False)
        raise MetricsDisagree(
            f"pandas and SQL disagree on {len(bad)} of {len(j)} metric rows "
            f"({', '.join(f'{m}: {c}' for m, c in by_metric.items())}); first ones:\n"
            + bad.head(15).to_string())
    return len(j)


def main(argv=None) -> None:
    import duckdb

    argv = argv or sys.argv[1:]
    con = duckdb.connect(argv[0], read_only=True)
    t = time.perf_counter()
    inp = read_inputs(con)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    out = compute(inp)
    t_compute = time.perf_counter() - t
    rows = check(con, out)
    print(f"read {t_read:.2f} s, compute {t_compute:.2f} s; {rows} metric rows agree with marts.metric_values "
          f"({len(COVERED)} metric ids)")


if __name__ == "__main__":
    main()
