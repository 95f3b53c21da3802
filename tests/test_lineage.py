"""Lineage (`coalition explain ... --format json`): for every metric id in the registry and each of
its dimensions, on the example's last quarter, the published value is recomputed here from the
rows explain lists (their cells, plus config values such as the cadence or small_n) and nothing
else; the same recomputation from lineage.metric_lineage agrees with the marts in every quarter;
left-out rows carry their reasons; --member filters; bad arguments are one-paragraph errors."""

from __future__ import annotations

import json
import math
import shutil
import statistics

import duckdb
import pytest

from coalition_metrics import dates, parsing
from coalition_metrics.quarters import Quarter
from coalition_metrics.registry import base_id, load_registry

QUARTER = "2026-Q3"  # the example's last (completed) quarter
ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


# ---- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def settings():
    from coalition_metrics.config import load_settings

    return load_settings(None, environ={})


@pytest.fixture(scope="module")
def published(tmp_path_factory, settings):
    """One published run of the bundled example for its last quarter."""
    from coalition_metrics.pipeline import run_quarterly

    out = tmp_path_factory.mktemp("lineage-run")
    result = run_quarterly(settings, quarter=QUARTER, out=out, write_back=False)
    return out, result


@pytest.fixture(scope="module")
def run_figures(published):
    out, result = published
    con = duckdb.connect(str(out / "coalition.duckdb"), read_only=True)
    try:
        rows = con.execute("select published_id, quarter, value, n, suppressed from run_metrics where run_id = ?",
                           [result.run_id]).fetchall()
    finally:
        con.close()
    return {(pid, q): (value, n, bool(s)) for pid, q, value, n, s in rows}


def explain_json(out, metric_id, **kw):
    from coalition_metrics.explain import explain

    return json.loads(explain(metric_id, out, fmt="json", **kw))


# ---- the recomputation: plain Python over the listed rows' cells --------------------------------
class Ctx:
    """The config values and quarter dates a recomputation may use besides the listed cells."""

    def __init__(self, settings, quarter: str, first: str):
        self.s = settings
        self.q = Quarter.parse(quarter, settings.fiscal_year_start_month)
        self.first = Quarter.parse(first, settings.fiscal_year_start_month)  # the run's first quarter
        self.start, self.end = self.q.start, self.q.end
        self.as_of = self.end  # a closed quarter
        self.metrics = settings.data["metrics"]

    def day(self, text):
        return dates.try_parse_date(text, self.s.date_format)

    def stamp(self, text):
        return dates.try_parse_timestamp(text, self.s.date_format)

    def wave(self, text) -> str:
        return Quarter.of(self.stamp(text).date(), self.s.fiscal_year_start_month).label

    def waves_back(self, text) -> int:
        """0 for an answer of this wave, 1 for the wave before, ..."""
        wave, q, back = Quarter.of(self.stamp(text).date(), self.s.fiscal_year_start_month), self.q, 0
        while q > wave:
            q, back = q.previous(), back + 1
        return back if q == wave else -1


def included(doc, role=None, tab=None):
    return [r for r in doc["included"]
            if (role is None or r["role"] == role) and (tab is None or r["tab"] == tab)]


def cell(row, name=None):
    v = row["cells"].get(name or row["cell"])
    return None if v is None else str(v)


def member_of(row):
    return cell(row, "member_id").strip() if row["tab"] in ("attendance", "members") else row["member_id"]


def ratio(a, b):
    return None if not b else a / b


def status_of(row, ctx):
    """present/absent from the row's own status cell; an expected attendance with no record
    (a meetings row) is absent."""
    if row["tab"] == "meetings":
        return "absent"
    return parsing.attendance_mark(cell(row, "status"))


def meetings_family(doc, ctx, mid, dim):
    rows = included(doc, "held")
    for r in rows:
        assert ctx.start <= ctx.day(cell(r, "date")) <= ctx.as_of, r
    if mid == "meetings_held":
        rows = [r for r in rows if dim is None or parsing.enum_value(cell(r, "kind")) == dim]
        return float(len(rows)), len(rows)
    cadence = ctx.s.data["cadence"]
    to_date = ((ctx.as_of - ctx.start).days + 1) / ((ctx.end - ctx.start).days + 1)
    held = {k: sum(1 for r in rows if parsing.enum_value(cell(r, "kind")) == k) for k in cadence}
    adherence = {k: min(1.0, held[k] / (cadence[k] * to_date)) for k in cadence if cadence[k] > 0}
    if dim is not None:
        return adherence[dim], held[dim]
    return sum(adherence.values()) / len(adherence), sum(held[k] for k in adherence)


def attendance_family(doc, ctx, mid, dim):
    counts = {"present": 0, "absent": 0}
    for r in doc["included"]:
        status = status_of(r, ctx)
        assert r["role"] == ("absent (no attendance row)" if r["tab"] == "meetings" else status), r
        if dim is not None and mid == "member_attendance_rate":
            assert member_of(r) == dim
        counts[status] += 1
    for r in doc["excluded"]:
        if r["reason"] == "excused":
            assert status_of(r, ctx) == "excused"
    n = counts["present"] + counts["absent"]
    return ratio(counts["present"], n), n


def engagement_family(doc, ctx, mid, dim):
    held = included(doc, "counted meeting held")
    if mid in ("active_members", "engagement_rate"):
        roster = {member_of(r) for r in doc["included"] if r["tab"] == "members"}
        active = {member_of(r) for r in included(doc, "present")} & roster
        assert active == {member_of(r) for r in included(doc, "on the roster, active")}
        if not held:
            return None, len(roster)
        if mid == "active_members":
            return float(len(active)), len(roster)
        return ratio(len(active), len(roster)), len(roster)
    if mid == "retention_rate":
        last = {member_of(r) for r in included(doc, "present last quarter")}
        this = {member_of(r) for r in included(doc, "present this quarter")}
        for r in included(doc, "present last quarter"):
            assert parsing.attendance_mark(cell(r, "status")) == "present"
        value = ratio(len(last & this), len(last)) if held and ctx.q > ctx.first else None
        return value, len(last)
    # disengagement_alerts
    on_roster = {member_of(r) for r in included(doc, "on the roster at as_of")}
    n = len(on_roster) + len(included(doc, "on the roster, not at as_of"))
    drop, streak_n = ctx.metrics["alert_drop"], ctx.metrics["alert_absences"]
    alerts = set()
    for m in on_roster:
        mine = [r for r in doc["included"] if r["tab"] != "members" and r["member_id"] == m]

        def rate(prefix):
            marks = [status_of(r, ctx) for r in mine if r["role"].startswith(prefix)]
            for r in mine:
                if r["role"].startswith(prefix):
                    assert r["role"].endswith(status_of(r, ctx) if r["tab"] == "attendance" else "(no attendance row)")
            return ratio(marks.count("present"), len(marks))

        this, last = rate("this quarter: "), rate("last quarter: ")
        recent = [status_of(r, ctx) for r in mine if r["role"].startswith(f"last {streak_n} expected: ")]
        if (this is not None and last is not None and this <= last - drop + 1e-9) or \
                (len(recent) == streak_n and all(s == "absent" for s in recent)):
            alerts.add(m)
    return float(len(alerts)), n


def tasks_family(doc, ctx, mid, dim):
    tasks = included(doc, tab="tasks")
    due = {id(r): ctx.day(cell(r, "due_on")) for r in tasks}
    done = {id(r): ctx.day(cell(r, "completed_on")) for r in tasks}
    completed = {k for k in done if done[k] is not None and done[k] <= ctx.as_of}
    if mid == "overdue_open":
        assert all(due[id(r)] < ctx.as_of for r in tasks)
        return float(sum(1 for r in tasks if id(r) not in completed)), len(tasks)
    assert all(ctx.start <= due[id(r)] <= ctx.as_of for r in tasks)
    if mid == "task_completion_rate":
        return ratio(len(completed), len(tasks)), len(tasks)
    if mid == "on_time_rate":
        assert all(id(r) in completed for r in tasks)
        on_time = sum(1 for r in tasks if done[id(r)] <= due[id(r)])
        return ratio(on_time, len(tasks)), len(tasks)
    if mid == "raci_gaps":
        roster = {member_of(r) for r in included(doc, tab="members")}

        def gap(r):
            acc = (cell(r, "accountable_id") or "").strip()
            return not acc or (cell(r, "owner_id") or "").strip() not in roster or acc not in roster
        return float(sum(1 for r in tasks if gap(r))), len(tasks)
    # goal_focus_share, goal_tied_tasks
    streams = {parsing.enum_value(k): v.strip() for k, v in ctx.s.workstreams.items()}

    def tied(r):
        return bool((cell(r, "goal_id") or "").strip()) or bool(streams.get(parsing.enum_value(cell(r, "workstream"))))
    every = doc["included"] + [r for r in doc["excluded"] if not r["reason"].startswith("quarantined")]
    declared = bool(streams) or any((cell(r, "goal_id") or "").strip() for r in every if r["tab"] == "tasks")
    count = sum(1 for r in tasks if tied(r))
    if not declared:
        return None, len(tasks)
    return (ratio(count, len(tasks)) if mid == "goal_focus_share" else float(count)), len(tasks)


def leadership_family(doc, ctx, mid, dim):
    found = {}
    for source, role, column in (("tasks", "owned", "owner_id"), ("facilitation", "facilitated", "facilitator_id")):
        rows = included(doc, role)
        if source == "tasks":
            assert all(ctx.start <= ctx.day(cell(r, "due_on")) <= ctx.end for r in rows)
        counts = {}
        for r in rows:
            who = cell(r, column).strip()
            counts[who] = counts.get(who, 0) + 1
        total = sum(counts.values())
        if not total:
            found[source] = (None, 0)
            continue
        top = max(counts.values()) / total
        value = {"leadership_concentration": top,
                 "ownership_hhi": sum(c * c for c in counts.values()) / (total * total),
                 "single_champion_risk": float(top > ctx.metrics["champion_share"])}[mid]
        found[source] = (value, total)
    if dim is not None:
        assert all(v[1] == 0 for s, v in found.items() if s != dim)  # only that source's rows are listed
        return found[dim]
    values = [v for v, _ in found.values() if v is not None]
    return (max(values) if values else None), sum(t for _, t in found.values())


def score(row, item, ctx):
    """An answer cell as a score: the number or label as typed (the instrument's own labels where
    it declares them), reversed for a reverse-scored item; None when blank."""
    instrument = getattr(ctx.s, "instrument", None)
    declared = {i.code: i for i in instrument.items} if instrument is not None else {}
    text = cell(row, item)
    answer = declared[item].parse(text) if item in declared else parsing.parse_likert(text)
    if answer is None:
        return None
    lo, hi = ctx.s.item_scale(item)
    return lo + hi - answer if item in declared and declared[item].reverse else answer


def _scores(rows, ctx):
    return [score(r, r["cell"], ctx) for r in rows]


def survey_family(doc, ctx, mid, dim):
    from scipy import stats

    if mid in ("item_mean", "item_sd", "item_ci_low", "item_ci_high", "item_top2", "satisfaction_mean"):
        rows = included(doc, "answer")
        assert all(ctx.wave(cell(r, "timestamp")) == ctx.q.label for r in rows)
        x = _scores(rows, ctx)
        n = len(x)
        if not n:
            return None, 0
        mean = sum(x) / n
        sd = statistics.stdev(x) if n > 1 else None
        half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) if sd is not None else None
        item = dim or rows[0]["cell"]
        return {"item_mean": mean, "satisfaction_mean": mean, "item_sd": sd,
                "item_ci_low": None if half is None else mean - half,
                "item_ci_high": None if half is None else mean + half,
                "item_top2": sum(1 for v in x if v >= ctx.s.item_scale(item)[1] - 1) / n}[mid], n
    if mid in ("scale_mean", "scale_ci_low", "scale_ci_high"):
        (scale,) = [sc for sc in ctx.s.instrument.scales if sc.code == dim]
        need = scale.min_items or len(scale.items)
        x = []
        for r in included(doc, "scale score"):
            assert ctx.wave(cell(r, "timestamp")) == ctx.q.label
            answers = [v for v in (score(r, item, ctx) for item in scale.items) if v is not None]
            assert len(answers) >= need, r
            x.append(sum(answers) / len(answers))
        for r in doc["excluded"]:  # a response of the wave left out answered too few of the items
            if r["reason"].startswith("answered "):
                assert sum(score(r, item, ctx) is not None for item in scale.items) < need, r
        n = len(x)
        if not n:
            return None, 0
        mean = sum(x) / n
        half = stats.t.ppf(0.975, n - 1) * statistics.stdev(x) / math.sqrt(n) if n > 1 else None
        value = {"scale_mean": mean, "scale_ci_low": None if half is None else mean - half,
                 "scale_ci_high": None if half is None else mean + half}[mid]
        return value, n
    if mid in ("item_change", "item_change_p", "satisfaction_change", "satisfaction_change_p"):
        this, last = included(doc, "this wave"), included(doc, "last wave")
        assert all(ctx.wave(cell(r, "timestamp")) == ctx.q.label for r in this)
        assert len({ctx.wave(cell(r, "timestamp")) for r in last}) <= 1
        assert all(ctx.stamp(cell(r, "timestamp")).date() < ctx.start for r in last)
        a, b = _scores(this, ctx), _scores(last, ctx)
        if not a or not b:
            return None, 0
        if mid.endswith("_p"):
            var_a = statistics.variance(a) if len(a) > 1 else None
            var_b = statistics.variance(b) if len(b) > 1 else None
            if var_a is None or var_b is None or var_a / len(a) + var_b / len(b) == 0:
                return None, min(len(a), len(b))
            return float(stats.ttest_ind(a, b, equal_var=False).pvalue), min(len(a), len(b))
        return sum(a) / len(a) - sum(b) / len(b), min(len(a), len(b))
    if mid == "response_rate":
        roster = {member_of(r): r for r in included(doc, "on the roster")}
        responses = included(doc, "response")
        for r in responses:
            assert ctx.wave(cell(r, "timestamp")) == ctx.q.label
            if r["member_id"] in roster:  # the respondent cell names that member
                m = roster[r["member_id"]]["cells"]
                assert parsing.norm_key(cell(r, "respondent")) in (parsing.norm_key(m["member_id"]),
                                                                   parsing.norm_key(m["organization"]))
        anonymous = not ctx.s.survey["respondent_column"]
        count = len(responses) if anonymous else len({r["member_id"] for r in responses})
        return ratio(count, len(roster)), len(roster)
    if mid == "voice_gap":
        tiers = {member_of(r): parsing.enum_value(cell(r, "size_tier")) for r in included(doc, "size tier of a respondent")}
        window = ctx.metrics["voice_gap_waves"]
        sides = {"large": [], "small": []}
        for r in doc["included"]:
            if r["tab"] != "survey":
                continue
            assert 0 <= ctx.waves_back(cell(r, "timestamp")) < window, r
            tier = tiers[r["member_id"]]
            assert r["role"] == f"{tier} member"
            sides[tier] += _scores([r], ctx)
        if not sides["large"] or not sides["small"]:
            return None, min(len(sides["large"]), len(sides["small"]))
        gap = sum(sides["large"]) / len(sides["large"]) - sum(sides["small"]) / len(sides["small"])
        return gap, min(len(sides["large"]), len(sides["small"]))
    raise KeyError(mid)


def goals_family(doc, ctx, mid, dim):
    goals = included(doc, tab="goals")
    latest = {cell(r, "goal_id").strip(): r for r in included(doc, "latest measurement")}
    for r in included(doc, "latest measurement"):
        assert ctx.day(cell(r, "measured_on")) <= ctx.as_of

    def figures(g):
        c = g["cells"]
        baseline, target = parsing.parse_number(c["baseline"]), parsing.parse_number(c["target"])
        b_on, t_on = ctx.day(c["baseline_on"]), ctx.day(c["target_on"])
        expected = max(0.0, min(1.0, (ctx.as_of - b_on).days / (t_on - b_on).days))
        m = latest.get(c["goal_id"].strip())
        if m is None:
            return None, expected, None
        sign = -1 if parsing.enum_value(c["direction"]) == "decrease" else 1
        progress = sign * (parsing.parse_number(cell(m, "value")) - baseline) / abs(target - baseline)
        on_track = float(progress >= expected - ctx.metrics["on_track_margin"] - 1e-12)
        return progress, expected, on_track

    if mid == "goals_on_track":
        flags = [figures(g)[2] for g in goals]
        flags = [f for f in flags if f is not None]
        return (sum(flags) / len(flags) if flags else None), len(flags)
    (g,) = goals
    assert cell(g, "goal_id").strip() == dim
    progress, expected, on_track = figures(g)
    if mid == "expected_progress":
        return expected, 1
    return {"goal_progress": progress, "on_track": on_track}[mid], 0 if progress is None else 1


def milestones_family(doc, ctx, mid, dim):
    if mid == "milestones":
        rows = included(doc, "counted")
        for r in rows:
            assert ctx.start <= ctx.day(cell(r, "date")) <= ctx.as_of
            assert dim is None or parsing.enum_value(cell(r, "kind")) == dim
        return float(len(rows)), len(rows)
    from dateutil.relativedelta import relativedelta

    first = min(ctx.day(cell(r, "joined_on")) for r in included(doc, tab="members"))
    wins = [r for r in included(doc, tab="milestones")
            if parsing.enum_value(cell(r, "kind")) == "quick_win"
            and first <= ctx.day(cell(r, "date")) <= min(first + relativedelta(months=3), ctx.as_of)]
    assert len(wins) == len(included(doc, tab="milestones"))
    return (1.0 if wins else 0.0), None


FAMILIES = {
    "meetings": meetings_family, "attendance": attendance_family, "engagement": engagement_family,
    "tasks": tasks_family, "leadership": leadership_family, "survey": survey_family, "goals": goals_family,
    "milestones": milestones_family,
}


def recompute(doc, ctx):
    """(value, n) of a figure from the rows explain listed for it."""
    pid = doc["published_id"]
    mid = base_id(pid)
    dim = pid[len(mid) + 1:-1] if "[" in pid else None
    section = next(m.section for m in load_registry() if m.id == mid)
    return FAMILIES[section](doc, ctx, mid, dim)


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9


# ---- the acceptance test ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def wilder(tmp_path_factory):
    """The Wilder-style example (a custom instrument with composite scales), for the scale figures
    the bundled example does not publish."""
    from coalition_metrics.config import load_settings
    from coalition_metrics.pipeline import run_quarterly

    s = load_settings(ROOT / "examples" / "wilder" / "coalition.toml", environ={})
    out = tmp_path_factory.mktemp("lineage-wilder")
    result = run_quarterly(s, quarter=QUARTER, out=out, write_back=False)
    con = duckdb.connect(str(out / "coalition.duckdb"), read_only=True)
    try:
        rows = con.execute("select published_id, quarter, value, n, suppressed from run_metrics where run_id = ?",
                           [result.run_id]).fetchall()
    finally:
        con.close()
    return out, result, s, {(pid, q): (value, n, bool(x)) for pid, q, value, n, x in rows}


def test_every_registry_id_is_recomputed_from_the_rows_explain_lists(published, run_figures, settings, wilder):
    out, result = published
    covered, ids = _recompute_every_id(out, result, settings, run_figures)
    assert len(ids) >= 90
    # the scale figures (and anything else the bundled example does not publish) on the Wilder example
    w_out, w_result, w_settings, w_figures = wilder
    w_covered, w_ids = _recompute_every_id(w_out, w_result, w_settings, w_figures)
    assert {"scale_mean", "scale_ci_low", "scale_ci_high"} <= w_covered
    # every metric of the registry, so a new metric without lineage fails here
    assert covered | w_covered == {m.id for m in load_registry()}


def _recompute_every_id(out, result, settings, run_figures):
    ctx = Ctx(settings, QUARTER, min(q for _, q in run_figures))
    small_n = settings.small_n
    ids = sorted(pid for pid, q in run_figures if q == QUARTER)
    covered, mismatches = set(), []
    for pid in ids:
        doc = explain_json(out, pid, quarter=QUARTER)
        assert doc["lineage"] == "live" and doc["run"]["run_id"] == result.run_id
        value, n, suppressed = run_figures[(pid, QUARTER)]
        assert doc["published"]["value"] == value and doc["published"]["n"] == n
        got_value, got_n = recompute(doc, ctx)
        survey = next(m.survey for m in load_registry() if m.id == base_id(pid))
        got_suppressed = survey and got_n is not None and 0 < got_n < small_n
        if got_n != n or got_suppressed != suppressed or (not suppressed and not same(got_value, value)):
            mismatches.append((pid, (got_value, got_n, got_suppressed), (value, n, suppressed)))
        covered.add(base_id(pid))
    assert mismatches == []
    return covered, ids


def test_lineage_sql_agrees_with_the_marts_in_every_quarter(published, settings):
    """The recomputation from lineage.metric_lineage (not through explain) matches
    marts.metric_values, before the small-n rule, for every figure of every quarter."""
    from coalition_metrics.explain import lineage_rows

    out, _ = published
    con = duckdb.connect(str(out / "coalition.duckdb"), read_only=True)
    try:
        figures = con.execute("select published_id, quarter, value, n from marts.metric_values").fetchall()
        first = min(q for _, q, _, _ in figures)
        mismatches = []
        for pid, quarter, value, n in figures:
            inc, exc = lineage_rows(con, pid, quarter)
            got_value, got_n = recompute({"published_id": pid, "included": inc, "excluded": exc},
                                         Ctx(settings, quarter, first))
            if got_n != n or not same(got_value, value):
                mismatches.append((pid, quarter, (got_value, got_n), (value, n)))
    finally:
        con.close()
    assert mismatches == []
    assert len(figures) > 800


def test_every_row_of_a_tab_is_accounted_for(published):
    """A plain figure lists every sheet row of its tab: counted, or left out with a reason."""
    out, _ = published
    con = duckdb.connect(str(out / "coalition.duckdb"), read_only=True)
    try:
        for pid, tab in (("meetings_held", "meetings"), ("task_completion_rate", "tasks"),
                         ("milestones", "milestones"), ("response_rate", "survey")):
            raw = {r for (r,) in con.execute(f"select sheet_row from raw.{tab}").fetchall()}
            listed = con.execute("""select sheet_row from lineage.metric_lineage
                                    where published_id = ? and quarter = ? and tab = ?""",
                                 [pid, QUARTER, tab]).fetchall()
            assert sorted(r for (r,) in listed) == sorted(raw), pid
        att = con.execute("select count(*) from raw.attendance").fetchone()[0]
        missing = con.execute("select count(*) from marts.expected_attendance where is_missing_row "
                              "and quarter = ?", [QUARTER]).fetchone()[0]
        listed = con.execute("select count(*) from lineage.metric_lineage where published_id = 'attendance_rate' "
                             "and quarter = ?", [QUARTER]).fetchone()[0]
        assert listed == att + missing
    finally:
        con.close()


# ---- crafted input: the reasons rows are left out ---------------------------------------------
def _append(path, *lines):
    text = path.read_text()
    path.write_text(text.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
    return len(text.rstrip("\n").splitlines()) + 1  # the sheet row of the first appended line


def test_left_out_rows_carry_their_reasons(tmp_path, settings, example_copy):
    from coalition_metrics.pipeline import run_quarterly

    members = example_copy / "members.csv"
    _append(members, "M12,Lakeside Tenants Union,housing,small,2026-08-15,,member")
    att = example_copy / "attendance.csv"
    lines = att.read_text().splitlines()
    excused_row = next(i for i, l in enumerate(lines, start=1) if l.startswith("WC-2026-07-14,M01,"))
    lines[excused_row - 1] = "WC-2026-07-14,M01,E"
    att.write_text("\n".join(lines) + "\n")
    quarantined_row = _append(att, "WC-2026-07-14,M99,present", "WC-2026-07-14,M12,present")
    early_row = quarantined_row + 1
    out = tmp_path / "out"
    s = settings.with_overrides(source={"location": str(example_copy)})
    run_quarterly(s, quarter=QUARTER, out=out, write_back=False)

    doc = explain_json(out, "attendance_rate", quarter=QUARTER)
    left = {(r["tab"], r["sheet_row"]): r["reason"] for r in doc["excluded"]}
    counted = {(r["tab"], r["sheet_row"]) for r in doc["included"]}
    assert left[("attendance", excused_row)] == "excused"
    assert left[("attendance", quarantined_row)].startswith("quarantined: member_id: ")
    assert "M99" in left[("attendance", quarantined_row)]
    early = left[("attendance", early_row)]
    assert "2026-07-14" in early and ("not on the roster" in early or "membership" in early or "joined" in early), early
    assert not counted & {("attendance", r) for r in (excused_row, quarantined_row, early_row)}
    assert doc["excluded"][0]["cells"]  # cells come with every row
    # M12 is on the quarter's roster (joined in August): listed as such for engagement, and their
    # row of a meeting before joining does not count for them
    eng = explain_json(out, "engagement_rate", quarter=QUARTER, member="M12")
    assert [(r["tab"], r["role"]) for r in eng["included"]] == [("members", "on the roster, not active")]
    before = explain_json(out, "engagement_rate", quarter="2026-Q2", member="M12")
    assert [r["reason"] for r in before["excluded"]] == ["not on the roster (joined 2026-08-15)"]


# ---- --member, errors, text --------------------------------------------------------------------
def test_member_filters_rows_and_shows_the_member_figure(published, run_figures):
    out, _ = published
    doc = explain_json(out, "attendance_rate", quarter=QUARTER, member="M03")
    assert doc["included"] and all(r["member_id"] == "M03" for r in doc["included"] + doc["excluded"])
    mine = explain_json(out, "member_attendance_rate[M03]", quarter=QUARTER)
    assert sorted((r["tab"], r["sheet_row"], r["role"]) for r in doc["included"]) == \
        sorted((r["tab"], r["sheet_row"], r["role"]) for r in mine["included"])
    value, n, _ = run_figures[("member_attendance_rate[M03]", QUARTER)]
    assert doc["member"]["figure"]["value"] == value and doc["member"]["figure"]["n"] == n
    present = sum(1 for r in doc["included"] if r["role"] == "present")
    assert present / n == pytest.approx(value, abs=1e-12)
    same_figure = explain_json(out, "member_attendance_rate", quarter=QUARTER, member="M03")
    assert same_figure["published_id"] == "member_attendance_rate[M03]"


def test_suppressed_figure_says_so_and_lists_rows(published, run_figures):
    out, _ = published
    text = _cli(out, "explain", "item_mean[trust]", "--quarter", "2025-Q1")[1]
    assert run_figures[("item_mean[trust]", "2025-Q1")][2] is True
    assert "Published as suppressed: it rests on fewer than 5 responses" in text
    assert "survey, answer: 4 rows" in text


def _cli(out, *args):
    import contextlib
    import io

    from coalition_metrics.cli import main

    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        code = main([*args, "--out", str(out)])
    return code, o.getvalue(), e.getvalue()


@pytest.mark.parametrize("args, needles", [
    (("explain", "attendence_rate"), ("No metric 'attendence_rate'. Known ids: meetings_held",)),
    (("explain", "attendance_rate", "--quarter", "2031-Q1"),
     ("published no figures for quarter '2031-Q1'", "2024-Q4, 2025-Q1", "2026-Q3")),
    (("explain", "attendance_rate[brunch]"), ("no figure 'attendance_rate[brunch]'", "attendance_rate[weekly_call]")),
    (("explain", "attendance_rate", "--member", "M77"), ("No member 'M77'", "M01, M02")),
    (("explain", "attendance_rate", "--run", "20200101T000000000Z-0000"), ("No published run '20200101T000000000Z-0000'",)),
])
def test_bad_arguments_are_one_paragraph_errors(published, args, needles):
    out, _ = published
    code, stdout, stderr = _cli(out, *args)
    assert code == 2 and "Traceback" not in stdout + stderr
    message = stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    for n in needles:
        assert n in message, message


def test_text_output_groups_rows_and_stays_short(published):
    import time

    out, _ = published
    t = time.perf_counter()
    code, text, _ = _cli(out, "explain", "attendance_rate")
    took = time.perf_counter() - t
    assert code == 0 and took < 10
    lineage = text[text.index("Lineage of attendance_rate in 2026-Q3"):]
    assert "    attendance, present: " in lineage and "… and " in lineage and "(use --format json)" in lineage
    assert "    meetings, absent (no attendance row): " in lineage
    assert "    attendance, outside the quarter: " in lineage and "(listed with --format json)" in lineage
    assert len(lineage.splitlines()) < 80


def test_another_build_in_the_database_means_a_replay(published, tmp_path, settings):
    """The database's tables were last built by another run (ref.build): explain does not read them
    for the published run; it replays the run from its snapshot and lists the very rows the live
    tables list. With the snapshot gone it still shows the published figure, and says why the rows
    cannot be listed."""
    out, result = published
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    con = duckdb.connect(str(copy / "coalition.duckdb"))
    con.execute("update ref.build set run_id = 'a-later-failed-run'")
    con.close()
    doc = explain_json(copy, "attendance_rate", quarter=QUARTER)
    live = explain_json(out, "attendance_rate", quarter=QUARTER)
    assert doc["lineage"] == "replay" and "a-later-failed-run" in doc["lineage_note"]
    assert doc["included"] == live["included"] and doc["excluded"] == live["excluded"]

    shutil.rmtree(copy / "snapshots")
    code, text, err = _cli(copy, "explain", "attendance_rate")
    assert code == 0 and "Traceback" not in text + err
    assert "Lineage of attendance_rate in 2026-Q3: 65%" in text
    note = text.strip().splitlines()[-1]
    assert note.startswith("The rows behind this figure cannot be listed: ") and "a-later-failed-run" in note
    assert "the replay failed: " in note and "snapshot" in note.split("the replay failed: ")[1].lower()


def test_grid_attendance_lineage_names_the_cell(tmp_path, settings, example_copy, run_figures):
    """Attendance as a grid (a row per member, a column per meeting): each counted mark is listed
    by its sheet row and meeting column, and the figures recompute from those cells."""
    import csv

    from coalition_metrics.pipeline import run_quarterly

    path = example_copy / "attendance.csv"
    with path.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if any(v.strip() for v in r.values())]
    meetings = list(dict.fromkeys(r["meeting_id"] for r in rows))
    members = list(dict.fromkeys(r["member_id"] for r in rows))
    marks = {(r["meeting_id"], r["member_id"]): r["status"][0].upper() for r in rows}
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["member_id", *meetings])
        for m in members:
            w.writerow([m, *(marks.get((mt, m), "") for mt in meetings)])
    out = tmp_path / "out"
    run_quarterly(settings.with_overrides(source={"location": str(example_copy)}), quarter=QUARTER, out=out,
                  write_back=False)
    ctx = Ctx(settings, QUARTER, "2024-Q4")
    for pid in ("attendance_rate", "attendance_rate[weekly_call]", "member_attendance_rate[M03]",
                "engagement_rate", "retention_rate", "disengagement_alerts"):
        doc = explain_json(out, pid, quarter=QUARTER)
        value, n = recompute(doc, ctx)
        assert (value, n) == pytest.approx(run_figures[(pid, QUARTER)][:2], abs=1e-9), pid  # as the long form
    doc = explain_json(out, "attendance_rate", quarter=QUARTER)
    marked = [r for r in doc["included"] if r["tab"] == "attendance"]
    assert marked and all(r["sheet_column"] in meetings and r["cells"]["meeting_id"] == r["sheet_column"]
                          and r["cells"]["status"] in ("P", "A") for r in marked)
    assert len({(r["sheet_row"], r["sheet_column"]) for r in marked}) == len(marked)
    # the example's planted M11 mark (WC-2026-04-14, a member not in the members tab): its grid row is
    # quarantined whole, and the mark is listed in its quarter with validation's reason
    q2 = explain_json(out, "attendance_rate", quarter="2026-Q2")
    m11 = [r for r in q2["excluded"] if r["member_id"] == "M11"]
    assert [(r["sheet_column"], r["reason"][:24]) for r in m11] == [("WC-2026-04-14", "quarantined: member_id: ")]
    assert "M11" in m11[0]["reason"]


def test_a_row_set_aside_for_several_reasons_lists_them_in_one_order():
    """lineage/quarantined.sql joins a row's reasons in order of column and reason, whatever order
    the threads aggregate them in (the same build must give the same listing)."""
    from coalition_metrics.transform import TRANSFORMS_DIR

    sql = (TRANSFORMS_DIR / "lineage" / "quarantined.sql").read_text()
    con = duckdb.connect()
    con.execute("create schema quarantine")
    con.execute("""create table quarantine.rows as select * from (values
        ('c', 'attendance', 33, 'row', 'member_id', 'member_id M03 is set aside'),
        ('c', 'attendance', 33, 'row', 'meeting_id', 'meeting_id CM-1 is set aside'),
        ('c', 'attendance', 33, 'row', 'member_id', 'member_id M03 is set aside'),
        ('c', 'attendance', 33, 'row', 'a_first', 'zz')) as t(coalition_id, tab, sheet_row, scope, "column", reason)""")
    con.execute("pragma threads=2")
    for _ in range(20):
        (reason,) = con.execute(f"select reason from ({sql})").fetchone()
        assert reason == ("quarantined: a_first: zz; meeting_id: meeting_id CM-1 is set aside; "
                          "member_id: member_id M03 is set aside")
