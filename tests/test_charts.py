"""The report's six charts (coalition_metrics/charts.py) on the bundled example's database and on
hand-built cases: embeddable, deterministic SVG with the figures the marts and the CSVs give."""

import re
import shutil
import xml.etree.ElementTree as ET

import duckdb
import pytest

from independent_metrics import COUNTED, load

from coalition_metrics.charts import CHART_DATA_DIR, CHART_IDS, report_charts, satisfaction_trust_chart
from coalition_metrics.keyed_reads import keyed_rows
from coalition_metrics.config import load_settings
from coalition_metrics.errors import CoalitionError

SVG = "{http://www.w3.org/2000/svg}"
QUARTER = "2026-Q3"


@pytest.fixture(scope="module")
def db_path(example_run):
    return example_run.folder.parent.parent / "coalition.duckdb"


@pytest.fixture(scope="module")
def con(db_path):
    c = duckdb.connect(str(db_path), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def defaults():
    return load_settings(None, environ={})


@pytest.fixture(scope="module")
def charts(con, defaults):
    return report_charts(con, quarter=QUARTER, settings=defaults)


def by_id(charts):
    return {c["id"]: c for c in charts}


def root(chart):
    return ET.fromstring(chart["svg"])


def texts(chart) -> list[str]:
    return [("".join(t.itertext())).strip() for t in root(chart).iter(f"{SVG}text")]


def group(chart, gid):
    found = [g for g in root(chart).iter(f"{SVG}g") if g.get("id") == f"{chart['id']}-{gid}"]
    assert len(found) == 1, f"{chart['id']}: no single group {gid}"
    return found[0]


def bars(chart, prefix):
    return [g for g in root(chart).iter(f"{SVG}g") if g.get("id", "").startswith(f"{chart['id']}-{prefix}")]


def marker_positions(chart, gid) -> list[tuple[float, float]]:
    return [(float(u.get("x")), float(u.get("y"))) for u in group(chart, gid).iter(f"{SVG}use")]


# ---- every chart -------------------------------------------------------------------------------

def test_six_charts_in_order_each_an_embeddable_accessible_svg(charts):
    assert [c["id"] for c in charts] == list(CHART_IDS)
    for c in charts:
        assert c["svg"].startswith("<svg") and "<?xml" not in c["svg"] and "DOCTYPE" not in c["svg"]
        el = root(c)
        assert el.tag == f"{SVG}svg"
        assert el.get("role") == "img" and el.get("aria-label", "").startswith(c["title"])
        assert el.find(f"{SVG}title").text.startswith(c["title"])
        assert el.get("viewBox") and el.get("width") == "100%" and el.get("height") is None
        assert c["title"] in texts(c) or any(c["title"] in t for t in texts(c))
        assert "dc:date" not in c["svg"] and "<metadata" not in c["svg"]
        assert "DejaVu Sans" in c["svg"]
        assert c["caption"] and "No data" not in c["caption"]


def test_element_ids_are_unique_across_the_six_charts_and_references_resolve(charts):
    ids = [i for c in charts for i in re.findall(r'\bid="([^"]+)"', c["svg"])]
    assert len(ids) > 100 and len(ids) == len(set(ids))
    every_ref = []
    for c in charts:
        own = set(re.findall(r'\bid="([^"]+)"', c["svg"]))
        assert all(i.startswith(c["id"] + "-") for i in own)
        refs = set(re.findall(r'(?:href="#|url\(#)([^")]+)', c["svg"]))
        assert refs <= own  # every clip path, pattern, gradient and marker points inside its own chart
        every_ref += refs
    assert len(every_ref) >= 10  # markers, hatches, clip paths


def test_same_data_gives_byte_identical_svg(con, defaults, charts):
    again = report_charts(con, quarter=QUARTER, settings=defaults)
    assert [c["svg"] for c in again] == [c["svg"] for c in charts]
    assert [c["caption"] for c in again] == [c["caption"] for c in charts]


def test_charts_drawn_in_parallel_threads_are_the_same_bytes(db_path, defaults, charts):
    from concurrent.futures import ThreadPoolExecutor

    def draw(_):
        c = duckdb.connect(str(db_path), read_only=True)
        try:
            return [ch["svg"] for ch in report_charts(c, quarter=QUARTER, settings=defaults)]
        finally:
            c.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(draw, range(2)))
    assert results == [[c["svg"] for c in charts]] * 2


def test_an_unknown_quarter_is_a_clear_error(con, defaults):
    with pytest.raises(CoalitionError,
                       match=r"No charts for quarter 2031-Q1: the database holds quarters 2024-Q4 to 2026-Q3"):
        report_charts(con, quarter="2031-Q1", settings=defaults)


# ---- 1. satisfaction and trust ------------------------------------------------------------------

def test_satisfaction_and_trust_marks_the_suppressed_wave_and_draws_the_others(con, charts):
    chart = by_id(charts)["satisfaction_trust"]
    marts = con.execute(
        """select item, wave, n, mean, is_suppressed from marts.survey_items_by_wave
           where item in ('satisfaction', 'trust') order by item, seq""").fetchall()
    words = texts(chart)
    assert "Mean answer (1–5 scale)" in words
    assert any(w.startswith("Survey wave (quarter)") for w in words)
    assert words.count("n<5") == 2 and "2025-Q1" in words  # the marker and the tick label
    assert "Satisfaction (mean, 95% interval)" in words and "Trust (mean, 95% interval)" in words
    assert "voice_heard" not in chart["svg"]
    for item in ("satisfaction", "trust"):
        rows = [r for r in marts if r[0] == item]
        shown = [r for r in rows if r[2] and not r[4]]
        suppressed = [r for r in rows if r[4]]
        assert [r[1] for r in suppressed] == ["2025-Q1"]  # the example's one small wave
        points = marker_positions(chart, f"points-{item}")
        assert len(points) == len(shown) == len(rows) - 1
        # the markers sit at the waves' x positions in order, and higher means are drawn higher
        xs = [x for x, _ in points]
        assert xs == sorted(xs)
        ys = [y for _, y in points]
        means = [r[3] for r in shown]
        for i in range(len(means)):
            for j in range(len(means)):
                if means[i] > means[j] + 1e-9:
                    assert ys[i] < ys[j]
        hollow = marker_positions(chart, f"suppressed-{item}")
        assert len(hollow) == 1 and xs[0] < hollow[0][0] < xs[1]  # 2025-Q1, between 2024-Q4 and 2025-Q2
        data = [d for d in chart["data"] if d["item"] == item]
        assert [d["mean"] for d in data if d["wave"] == "2025-Q1"] == [None]
        assert [round(d["mean"], 9) for d in data if d["mean"] is not None] == [round(m, 9) for m in means]
    # the n per wave under each label, e.g. "n=9" (or "n=9/8" when the two items differ)
    waves = sorted({r[1] for r in marts})
    for wave in waves:
        ns = [r[2] for r in marts if r[1] == wave and not r[4]]
        if ns and len(set(ns)) == 1:
            assert f"n={ns[0]}" in words


def test_a_hand_built_suppressed_wave_is_not_drawn_as_a_value(defaults):
    c = duckdb.connect()
    c.execute("create schema ref; create schema marts")
    c.execute("""create table ref.quarters as select 'c' as coalition_id, * from
                 (values ('2025-Q1', 1), ('2025-Q2', 2), ('2025-Q3', 3)) t(quarter, seq)""")
    c.execute("""create table marts.survey_items_by_wave as select 'c' as coalition_id, * from (values
        ('2025-Q1', 1, 'satisfaction', 1, 8, 3.5, 3.0, 4.0, false),
        ('2025-Q2', 2, 'satisfaction', 1, 3, 1.37, 0.1, 2.3, true),
        ('2025-Q3', 3, 'satisfaction', 1, 6, 4.25, 3.9, 4.6, false))
        t(wave, seq, item, item_position, n, mean, ci_low, ci_high, is_suppressed)""")
    sql = (CHART_DATA_DIR / "satisfaction_trust.sql").read_text()
    scope = {"coalition_id": "c", "quarter": "2025-Q3", "first_item": defaults.instrument.satisfaction_item,
             "second_item": defaults.instrument.trust_item}
    chart = satisfaction_trust_chart(c, "2025-Q3", defaults, keyed_rows(c, sql, [scope])["c"])
    points = marker_positions(chart, "points-satisfaction")
    assert len(points) == 2 and points[1][1] < points[0][1]  # 4.25 drawn above 3.5
    hollow = marker_positions(chart, "suppressed-satisfaction")
    assert len(hollow) == 1 and points[0][0] < hollow[0][0] < points[1][0]
    words = texts(chart)
    assert words.count("n<5") == 2 and "n=8" in words and "n=6" in words
    assert [d["mean"] for d in chart["data"]] == [3.5, None, 4.25]
    assert not any("1.37" in w for w in words) and "Trust" not in words  # only the item that exists
    # the line does not join the two waves across the suppressed one: no single path spans both
    # (the legend's line sample, inside the legend group, is no data)
    el = root(chart)
    legend = {id(p) for g in el.iter(f"{SVG}g") if g.get("id") == "satisfaction_trust-legend"
              for p in g.iter(f"{SVG}path")}
    assert legend  # the legend shows the line style
    lines = [p.get("d") for p in el.iter(f"{SVG}path") if p.get("d", "").count("L") >= 1
             and "stroke-width: 1.8" in (p.get("style") or "") and id(p) not in legend]
    assert lines == []
    c.close()


# ---- 2. attendance heatmap ------------------------------------------------------------------------

def test_heatmap_rows_are_organizations_and_cells_match_the_csvs(charts):
    chart = by_id(charts)["attendance_heatmap"]
    members, meetings, att, *_ = load()
    counted = meetings[meetings["kind"].isin(COUNTED)]
    expected = counted.merge(members[["member_id", "organization", "joined", "left"]], how="cross")
    expected = expected[(expected["joined"] <= expected["day"])
                        & (expected["left"].isna() | (expected["left"] >= expected["day"]))]
    expected = expected.merge(att[["meeting_id", "member_id", "status"]], on=["meeting_id", "member_id"], how="left")
    expected["status"] = expected["status"].fillna("absent")
    window = expected[(expected["day"] >= "2025-10-01") & (expected["day"] <= "2026-09-30")].copy()
    window["month"] = window["day"].dt.strftime("%Y-%m-01")
    ref = {}
    for (m, month), g in window.groupby(["member_id", "month"]):
        p, a = (g["status"] == "present").sum(), (g["status"] == "absent").sum()
        ref[(m, month)] = None if p + a == 0 else p / (p + a)
    got = {(d["member_id"], d["month"]): d["attendance_rate"] for d in chart["data"] if d["count_expected"]}
    assert set(got) == set(ref)
    for key, value in ref.items():
        assert (got[key] is None and value is None) or abs(got[key] - value) < 1e-9, key
    words = texts(chart)
    orgs = sorted(set(members.loc[members["member_id"].isin({k[0] for k in ref}), "organization"].str.strip()))
    for org in orgs:
        assert org in words
    assert not any(re.fullmatch(r"M\d\d", w) for w in words)  # never member ids
    assert {"Oct", "Sep", "2025", "2026"} <= set(words)
    assert "Attendance rate (%)" in words and "Member organization" in words
    assert "Calendar month (n = counted meetings held)" in words
    sample = next(k for k, v in sorted(ref.items()) if v is not None)
    assert f"{ref[sample] * 100:.0f}%" in words
    assert "October 2025 to September 2026" in chart["caption"]


# ---- 3. task trend -----------------------------------------------------------------------------------

def test_task_trend_shows_each_quarters_rates_and_tasks_due(con, charts):
    chart = by_id(charts)["task_trend"]
    rows = con.execute("""select quarter, count_due, task_completion_rate, on_time_rate
                          from marts.tasks_by_quarter order by seq""").fetchall()
    words = texts(chart)
    for quarter, due, *_ in rows:
        assert quarter in words
    assert [f"n={due}" for _, due, *_ in rows] == [w for w in words if re.fullmatch(r"n=\d+", w)]
    assert len(marker_positions(chart, "points-task_completion_rate")) == sum(1 for r in rows if r[2] is not None)
    assert len(marker_positions(chart, "points-on_time_rate")) == sum(1 for r in rows if r[3] is not None)
    last = rows[-1]
    assert f"{last[2]:.0%}" in words and f"{last[3]:.0%}" in words
    assert "Share of tasks (%)" in words and "Quarter (n = tasks due in the quarter)" in words


# ---- 4. task ownership ---------------------------------------------------------------------------------

def test_ownership_bars_by_organization_with_the_champion_threshold(con, charts):
    chart = by_id(charts)["task_ownership"]
    words = texts(chart)
    assert "single-champion threshold 40%" in words
    top_share, top_member, count = con.execute(
        """select leadership_concentration, top_member_id, count_items from marts.leadership_by_quarter
           where quarter = ? and source = 'tasks'""", [QUARTER]).fetchone()
    data = chart["data"]
    assert abs(data[0]["share"] - top_share) < 1e-12 and data[0]["member_id"] == top_member
    assert sum(d["count_items"] for d in data) == count
    assert [d["share"] for d in data] == sorted((d["share"] for d in data), reverse=True)
    org = con.execute("select organization from staging.stg_members where member_id = ?", [top_member]).fetchone()[0]
    assert org in words and not any(re.fullmatch(r"M\d\d", w) for w in words)
    assert f"{top_share:.0%} ({data[0]['count_items']})" in words
    assert f"Share of the {count} tasks due in {QUARTER} that the member owns (%)" in words
    assert len(bars(chart, "bar-")) == len(data)


# ---- 5. goals ---------------------------------------------------------------------------------------------

def test_goal_panels_show_each_goals_measurements_and_statement(charts):
    chart = by_id(charts)["goal_progress"]
    _, _, _, _, _, goals, measures, _ = load()
    words = texts(chart)
    for _, g in goals.iterrows():
        shown = measures[(measures["goal_id"] == g["goal_id"]) & (measures["day"] <= "2026-09-30")]
        assert len(marker_positions(chart, f"measured-{g['goal_id']}")) == len(shown)
        assert f"Measured (n={len(shown)})" in words
        assert any(w.startswith(g["statement"][:30]) for w in words)
        sign = -1 if g["direction"] == "decrease" else 1
        progress = [sign * (v - g["baseline"]) / abs(g["target"] - g["baseline"]) for v in shown["value"]]
        got = [d["progress"] for d in chart["data"] if d["goal_id"] == g["goal_id"]]
        assert got == pytest.approx(progress, abs=1e-9)
    assert words.count("Progress to target (%)") == len(goals)
    assert "as of 2026-09-30" in words


# ---- 6. cadence -------------------------------------------------------------------------------------------

def test_cadence_shows_held_and_expected_per_kind(con, charts):
    chart = by_id(charts)["cadence"]
    rows = con.execute("""select kind, meetings_held, expected_per_quarter from marts.meetings_by_kind
                          where quarter = ?""", [QUARTER]).fetchall()
    words = texts(chart)
    for kind in ("Weekly call", "Monthly call", "Quarterly meeting", "Committee", "Event"):
        assert kind in words
    assert "weekly_call" not in words
    held = {d["kind"]: d["meetings_held"] for d in chart["data"]}
    assert held == {k: h for k, h, _ in rows}
    assert len(bars(chart, "held-")) == len(rows)
    assert "Meetings (count)" in words and "Meeting kind" in words
    assert words.count("no set") == sum(1 for *_, e in rows if e == 0)


# ---- no data ---------------------------------------------------------------------------------------------

def test_every_chart_draws_no_data_instead_of_failing(db_path, defaults, tmp_path):
    copy = tmp_path / "empty.duckdb"
    shutil.copy(db_path, copy)
    c = duckdb.connect(str(copy))
    c.execute("""update marts.survey_items_by_wave
                 set n = 0, mean = null, ci_low = null, ci_high = null, is_suppressed = false""")
    c.execute("delete from marts.expected_attendance")
    c.execute("update marts.tasks_by_quarter set count_due = 0, task_completion_rate = null, on_time_rate = null")
    c.execute("delete from marts.ownership_by_member")
    c.execute("delete from staging.stg_goals")
    c.execute("update marts.meetings_by_kind set meetings_held = 0, expected_per_quarter = 0")
    charts = report_charts(c, quarter=QUARTER, settings=defaults)
    c.close()
    assert [ch["id"] for ch in charts] == list(CHART_IDS)
    ids = [i for ch in charts for i in re.findall(r'\bid="([^"]+)"', ch["svg"])]
    assert len(ids) == len(set(ids))
    for ch in charts:
        assert "No data" in texts(ch) and ch["caption"].startswith("No data: ") and ch["data"] == []
        assert ch["title"] in texts(ch)


def test_a_goal_without_measurements_says_so(db_path, defaults, tmp_path):
    copy = tmp_path / "goals.duckdb"
    shutil.copy(db_path, copy)
    c = duckdb.connect(str(copy))
    c.execute("delete from staging.stg_goal_measurements where goal_id = 'G2'")
    c.execute("update marts.goals_by_quarter set goal_progress = null, on_track = null where goal_id = 'G2'")
    chart = report_charts(c, quarter=QUARTER, settings=defaults)[4]
    c.close()
    words = texts(chart)
    assert words.count("no measurement yet") == 1
    assert any(w.endswith("; no measurement yet") for w in words)
    assert len(marker_positions(chart, "measured-G1")) == 8
    assert not bars(chart, "measured-G2")


def test_a_run_never_imports_matplotlib(db_path):
    """The report's charts are SVG written directly: the modules a run imports and drawing all six
    charts load no plotting library (matplotlib alone took 0.5-1 s to import)."""
    import subprocess
    import sys

    code = ("import sys, duckdb\n"
            "import coalition_metrics.pipeline, coalition_metrics.publish, coalition_metrics.render\n"
            "from coalition_metrics.charts import report_charts\n"
            "from coalition_metrics.config import load_settings\n"
            f"con = duckdb.connect({str(db_path)!r}, read_only=True)\n"
            "charts = report_charts(con, quarter='2026-Q3', settings=load_settings(None, environ={}))\n"
            "print(len(charts), sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "6 []"


HOSTILE_ORGS = {
    "M01": "Chamber $5 and $10 $\\foo{x}$ ^_^",  # even "$" count: mathtext would fail on \foo
    "M02": "</svg><b>Schools</b> & \"Quotes\" 'single' {{ 7*7 }}",
    "M03": "Northside Faith Alliance of Congregations, Mosques, Temples and Community Churches of the "
           "Greater Riverside Valley",
    "M05": "Riverside Parks\nand Recreation",
    "M06": "بنك الطعام الشرقي",
}


def test_organization_names_are_drawn_literally_and_kept_inside_the_figure(db_path, defaults, tmp_path):
    """Organization names are the coalition's free text: "$" is a dollar sign (never mathtext, which
    garbles or fails), markup is escaped text, and a long name is cut to two short lines instead of
    pushing the axis labels off the figure's edge."""
    copy = tmp_path / "hostile.duckdb"
    shutil.copy(db_path, copy)
    c = duckdb.connect(str(copy))
    for member_id, org in HOSTILE_ORGS.items():
        c.execute("update staging.stg_members set organization = ? where member_id = ?", [org, member_id])
    charts = by_id(report_charts(c, quarter=QUARTER, settings=defaults))
    c.close()
    shown = {  # each name as its tick label's lines
        "M01": ["Chamber $5 and $10 $\\foo{x}$ ^_^"],
        "M02": ["</svg><b>Schools</b> & \"Quotes\"", "'single' {{ 7*7 }}"],
        "M03": ["Northside Faith Alliance of", "Congregations, Mosques, Temples …"],
        "M05": ["Riverside Parks and Recreation"],  # a typed line break is a space
        "M06": ["بنك الطعام الشرقي"],
    }
    for chart_id in ("attendance_heatmap", "task_ownership"):
        chart = charts[chart_id]
        words = texts(chart)  # parses: no markup from a name broke the SVG
        drawn = {d["member_id"] for d in chart["data"]} & set(shown)
        assert len(drawn) >= 3, (chart_id, drawn)
        for member_id in drawn:
            for line in shown[member_id]:
                assert line in words, (chart_id, line)
        assert "<b>Schools</b>" not in chart["svg"] and "&lt;b&gt;Schools&lt;/b&gt;" in chart["svg"]
        assert not any("Greater Riverside Valley" in w for w in words)


def test_one_member_charts_keep_their_vertical_labels_inside_the_figure(db_path, defaults, tmp_path):
    """A coalition of one member: the heatmap is one row high, and its vertical axis label ("Member
    organization") and colour-bar label were cut at the figure's top and bottom."""
    copy = tmp_path / "one.duckdb"
    shutil.copy(db_path, copy)
    c = duckdb.connect(str(copy))
    c.execute("delete from marts.expected_attendance where member_id <> 'M01'")
    c.execute("delete from staging.stg_members where member_id <> 'M01'")
    c.execute("delete from marts.ownership_by_member where member_id <> 'M01'")
    charts = report_charts(c, quarter=QUARTER, settings=defaults)
    c.close()
    checked = 0
    for chart in charts:
        el = root(chart)
        height = float(el.get("viewBox").split()[3])
        for t in el.iter(f"{SVG}text"):
            if "rotate(-90" not in (t.get("transform") or ""):
                continue
            size = float(re.search(r"font-size: ([\d.]+)px", t.get("style")).group(1))
            half = 0.6 * size * len("".join(t.itertext()).strip()) / 2  # DejaVu Sans: about 0.6 em a character
            y = float(t.get("y"))
            assert y - half >= 0 and y + half <= height, (chart["id"], "".join(t.itertext()), y, half, height)
            checked += 1
    assert checked >= 3  # the heatmap's two labels, and the other charts' vertical axis labels


def test_coordinates_are_formatted_once_as_the_rule_says():
    """svg.n keeps each number's text: whatever came first (an int, -0.0, a numpy float, a bool), the
    text is the rule's for that number, and a value seen again gives the same text."""
    import random

    import numpy as np

    from coalition_metrics import svg

    def rule(value):
        text = f"{float(value):.2f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text

    rng = random.Random(3)
    pool = [0, 0.0, -0.0, -0.001, 0.004, 0.005, -0.005, 1, 1.0, True, False, np.float64(2.5), 2.5, 1e20, -1e-9,
            float("nan"), 123.456, 7.125, 7.135]
    values = pool + [rng.choice([round(rng.uniform(-500, 500), rng.randint(0, 4)), rng.choice(pool)])
                     for _ in range(5000)]
    for value in values + values[::-1]:
        assert svg.n(value) == rule(value), value
