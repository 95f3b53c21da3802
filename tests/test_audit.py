"""`coalition audit satisfaction`: the audit pack's statistics against scipy.stats, pymannkendall and a
hand-worked Cronbach's alpha on the bundled example; the workbook's sheets and cells; the
integrity lists with their sheet rows; composite scales on a database with the issue-12 scale
tables; member-level rows in the pack and never in the funder outputs."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLE_CSV

TOL = 1e-9
SHEETS = ["waves", "measures", "distribution", "changes", "trend", "alpha", "breakdowns", "duplicates",
          "outside_membership", "straight_lining", "unmatched", "item_nonresponse"]
ITEMS = ["satisfaction", "trust", "voice_heard", "shared_vision", "communication", "value_received"]


def _settings(out: Path):
    from coalition_metrics.config import load_settings

    return load_settings(None, environ={}).with_overrides(output={"folder": str(out)})


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    """The audit pack of the bundled example, every wave up to 2026-Q3 (no Prefect)."""
    from coalition_metrics.audit.pack import run_audit

    out = tmp_path_factory.mktemp("audit")
    result = run_audit(_settings(out), wave_to="2026-Q3", out=out)
    return result


@pytest.fixture(scope="module")
def answers(pack):
    """Every counted answer, read straight from staging (the audit run built the database last):
    {(item, wave): [scores in response order]}, and {response_id: {item: score}} by wave."""
    import duckdb

    con = duckdb.connect(str(pack.folder.parents[2] / "coalition.duckdb"), read_only=True)
    try:
        rows = con.execute("select item, wave, response_id, score from staging.stg_survey_answers "
                           "order by response_id").fetchall()
        change = con.execute("select item, wave, p_value from marts.survey_change_by_wave").fetchall()
        items = con.execute("select item, wave, n, mean, sd, ci_low, ci_high, top2_share "
                            "from marts.survey_items_by_wave").fetchall()
    finally:
        con.close()
    by_item: dict = {}
    by_response: dict = {}
    for item, wave, rid, score in rows:
        by_item.setdefault((item, wave), []).append(score)
        by_response.setdefault(wave, {}).setdefault(rid, {})[item] = score
    return {"by_item": by_item, "by_response": by_response,
            "sql_change_p": {(i, w): p for i, w, p in change},
            "items_by_wave": {(r[0], r[1]): r[2:] for r in items}}


@pytest.fixture(scope="module")
def book(pack):
    import openpyxl

    return openpyxl.load_workbook(pack.folder / "audit.xlsx")


def _sheet(book, name) -> list[dict]:
    ws = book[name]
    header = [c.value for c in ws[1]]
    return [dict(zip(header, [c.value for c in row])) for row in ws.iter_rows(min_row=2)]


def _close(a, b):
    assert a is not None and b is not None, (a, b)
    assert math.isclose(a, b, rel_tol=0, abs_tol=TOL), (a, b)


# ---- the pack's folder -----------------------------------------------------------------------------

def test_pack_folder_holds_html_workbook_charts_and_manifest(pack):
    folder = pack.folder
    assert folder.parent.name == "2024-Q4_2026-Q3" and folder.parent.parent.name == "audit"
    assert (folder.parent / "LATEST").read_text().strip() == pack.run_id
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["flow"] == "audit-satisfaction"
    assert manifest["waves"] == {"from": "2024-Q4", "to": "2026-Q3"}
    assert len(manifest["snapshot"]["id"]) == 64
    charts = sorted(p.name for p in (folder / "charts").iterdir())
    assert charts == sorted([f"{kind}-item-{i}.svg" for i in ITEMS for kind in ("dist", "mean")])
    assert (folder / "charts" / "dist-item-trust.svg").read_text().startswith("<svg")
    html = (folder / "audit.html").read_text()
    assert html.count("<svg") == 12
    for name in SHEETS:
        assert f'data-table="{name}"' in html or f'id="{name}"' in html


# ---- statistics against scipy / pymannkendall / a hand-worked alpha ------------------------------

def test_wave_stats_are_the_published_marts(book, answers):
    rows = [r for r in _sheet(book, "measures") if r["Kind"] == "item"]
    assert len(rows) == 6 * 8
    checked = 0
    for r in rows:
        n, mean, sd, lo, hi, top2 = answers["items_by_wave"][(r["Item or scale"], r["Wave"])]
        assert r["n"] == n
        if n < 5:
            assert r["Mean"] == "n<5" and r["SD"] == "n<5" and r["Top-2-box"] == "n<5"
            continue
        for got, want in ((r["Mean"], mean), (r["SD"], sd), (r["95% CI low"], lo), (r["95% CI high"], hi),
                          (r["Top-2-box"], top2)):
            _close(got, want)
        scores = answers["by_item"][(r["Item or scale"], r["Wave"])]
        _close(r["Mean"], sum(scores) / len(scores))
        checked += 1
    assert checked == 42  # 2025-Q1 (4 responses) is suppressed for all six items


def test_changes_agree_with_scipy_welch_and_mann_whitney(book, answers):
    from scipy import stats

    rows = _sheet(book, "changes")
    tested = [r for r in rows if isinstance(r["Welch p"], (int, float))]
    both = [r for r in rows if r["n"] >= 5 and r["Previous n"] >= 5]
    assert tested == both and len(tested) >= 25  # 2025-Q1 (4 responses) and the wave after it are not tested
    assert all(r["Welch p"] == "n<5" for r in rows if r not in both)
    for r in tested:
        cur = answers["by_item"][(r["Item or scale"], r["Wave"])]
        prev = answers["by_item"][(r["Item or scale"], r["Previous wave"])]
        welch = stats.ttest_ind(cur, prev, equal_var=False)
        mwu = stats.mannwhitneyu(cur, prev, alternative="two-sided")
        _close(r["Welch t"], float(welch.statistic))
        _close(r["Welch df"], float(welch.df))
        _close(r["Welch p"], float(welch.pvalue))
        _close(r["Mann-Whitney U"], float(mwu.statistic))
        _close(r["Mann-Whitney p"], float(mwu.pvalue))
        _close(r["Change in mean"], sum(cur) / len(cur) - sum(prev) / len(prev))
        # the SQL model's own Welch test (marts.survey_change_by_wave) gives the same p
        _close(r["Welch p"], answers["sql_change_p"][(r["Item or scale"], r["Wave"])])
    q1 = next(r for r in rows if r["Item or scale"] == "satisfaction" and r["Wave"] == "2025-Q1")
    assert q1["Welch p"] == "n<5" and q1["Mann-Whitney U"] == "n<5"


def test_trend_agrees_with_pymannkendall(book, answers):
    import pymannkendall as mk

    rows = {r["Item or scale"]: r for r in _sheet(book, "trend")}
    assert set(rows) == set(ITEMS)
    waves = ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    for item in ITEMS:
        series = [sum(v) / len(v) for w in waves if len(v := answers["by_item"].get((item, w), [])) >= 5]
        assert len(series) == 7  # 2025-Q1 is left out (n<5)
        res, sen = mk.original_test(series), mk.sens_slope(series)
        r = rows[item]
        assert r["Waves"] == 7 and r["Trend"] == res.trend
        _close(r["S"], res.s)
        _close(r["z"], res.z)
        _close(r["p"], res.p)
        _close(r["Kendall tau"], res.Tau)
        _close(r["Sen's slope per wave"], sen.slope)
        _close(r["Intercept"], sen.intercept)


def _hand_alpha(matrix: list[list[float]]) -> float:
    """k/(k-1) * (1 - sum of item variances / variance of totals), sample variances, by hand."""
    n, k = len(matrix), len(matrix[0])

    def var(xs):
        m = sum(xs) / len(xs)
        return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)

    item_vars = [var([row[i] for row in matrix]) for i in range(k)]
    totals = [sum(row) for row in matrix]
    assert n == len(totals)
    return k / (k - 1) * (1 - sum(item_vars) / var(totals))


def test_cronbach_alpha_of_the_whole_instrument_is_the_hand_worked_one(book, answers):
    rows = [r for r in _sheet(book, "alpha") if r["Kind"] == "instrument"]
    assert [r["Wave"] for r in rows] == ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1",
                                         "2026-Q2", "2026-Q3"]
    numeric = 0
    for r in rows:
        complete = [[resp[i] for i in ITEMS] for _, resp in sorted(answers["by_response"][r["Wave"]].items())
                    if all(i in resp for i in ITEMS)]
        assert r["Complete responses"] == len(complete) and r["Items (k)"] == 6
        if len(complete) < 5:
            assert r["Alpha"] == "n<5"
            continue
        _close(r["Alpha"], _hand_alpha(complete))
        numeric += 1
    assert numeric >= 6


# ---- the workbook and the HTML show the same tables ------------------------------------------------

def test_workbook_has_one_typed_sheet_per_table_and_no_formulas(book, pack):
    assert book.sheetnames == SHEETS
    assert book.properties.identifier == pack.run_id
    assert pack.manifest["snapshot"]["id"] in book.properties.description
    waves = _sheet(book, "waves")
    assert [r["Wave"] for r in waves][:2] == ["2024-Q4", "2025-Q1"]
    assert waves[0]["Responses"] == 8 and waves[1]["Responses"] == 4
    _close(waves[0]["Response rate"], 8 / 9)
    ws = book["waves"]
    assert ws["E2"].data_type == "n" and ws["E2"].number_format == "0.0%"
    for name in SHEETS:
        for row in book[name].iter_rows():
            for cell in row:
                assert cell.data_type != "f", (name, cell.coordinate, cell.value)
    html = (pack.folder / "audit.html").read_text()
    assert "<td class=\"num\">88.9%</td>" in html  # 2024-Q4: 8 of 9 members answered
    dist = [r for r in _sheet(book, "distribution") if r["Item or scale"] == "satisfaction" and r["Wave"] == "2024-Q4"]
    assert [r["Count"] for r in dist] == [0, 0, 3, 5, 0]
    assert sum(r["Count"] for r in dist) == dist[0]["n"] == 8


def test_breakdowns_follow_the_small_n_rule(book):
    rows = _sheet(book, "breakdowns")
    assert {r["By"] for r in rows} == {"size_tier", "sector"}
    small = [r for r in rows if r["n"] < 5]
    assert small and all(r["Mean"] == "n<5" and r["SD"] == "n<5" and r["Top-2-box"] == "n<5" for r in small)
    shown = [r for r in rows if r["n"] >= 5]
    assert shown and all(isinstance(r["Mean"], (int, float)) for r in shown)
    # ten members in three size tiers: no tier reaches 5 answers in one wave, the pooled waves do
    assert all(r["Wave"] == "2024-Q4..2026-Q3" for r in shown)
    large = next(r for r in shown if r["Item or scale"] == "satisfaction" and r["Group"] == "large")
    assert isinstance(large["n"], int) and large["n"] >= 5


def test_integrity_lists_the_example_duplicate_and_straight_lining(book, pack):
    dups = _sheet(book, "duplicates")
    assert [(r["Sheet row"], r["Member"], r["Wave"], r["Counted row"]) for r in dups] == [(27, "M04", "2025-Q3", 29)]
    assert "superseded by row 29" in dups[0]["Resolution"]
    straight = _sheet(book, "straight_lining")
    assert [(r["Sheet row"], r["Member"], r["Items answered"], r["Answer to every item"]) for r in straight] == \
        [(28, "M07", 6, 4)]
    nonresp = {(r["Item"], r["Wave"]): r for r in _sheet(book, "item_nonresponse")}
    assert nonresp[("satisfaction", "2025-Q2")]["Blank"] == 1 and nonresp[("satisfaction", "2025-Q2")]["Responses"] == 7
    assert nonresp[("value_received", "2024-Q4")]["Blank"] == 1  # Northside Faith Alliance left it blank


@pytest.fixture(scope="module")
def planted_pack(tmp_path_factory):
    """The example with two more survey rows: Greenway Housing Partners (joined July 2025) answering
    in March 2025, and a respondent typed as a formula that names no member; waves 2025-Q1..2026-Q2."""
    from coalition_metrics.audit.pack import run_audit

    root = tmp_path_factory.mktemp("audit-planted")
    sheet = root / "sheet"
    shutil.copytree(EXAMPLE_CSV, sheet)
    with open(sheet / "survey.csv", "a", newline="") as f:
        w = csv.writer(f)
        w.writerow(["3/1/2025 10:00:00", "Greenway Housing Partners", 4, 4, 4, 4, 4, 4])
        w.writerow(["5/5/2026 9:00:00", '=HYPERLINK("http://x","y")', 3, 3, 3, 3, 3, 3])
    rows = sum(1 for _ in open(sheet / "survey.csv")) 
    out = root / "out"
    result = run_audit(_settings(out), wave_from="2025-Q1", wave_to="2026-Q2", source=str(sheet), out=out)
    return result, rows


def test_integrity_lists_outside_membership_and_unmatched_with_sheet_rows(planted_pack):
    import openpyxl

    result, rows = planted_pack
    assert result.folder.parent.name == "2025-Q1_2026-Q2"
    book = openpyxl.load_workbook(result.folder / "audit.xlsx")
    outside = _sheet(book, "outside_membership")
    assert [(r["Sheet row"], r["Member"], r["Wave"]) for r in outside] == [(rows - 1, "M10", "2025-Q1")]
    unmatched = _sheet(book, "unmatched")
    assert [(r["Sheet row"], r["Respondent as typed"], r["Wave"]) for r in unmatched] == \
        [(rows, '=HYPERLINK("http://x","y")', "2026-Q2")]
    cell = next(c for c in book["unmatched"]["B"] if c.row == 2)
    assert cell.data_type == "s" and cell.value.startswith("=")  # text, never a formula
    assert [r["Wave"] for r in _sheet(book, "waves")] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1",
                                                          "2026-Q2"]
    # rows set aside never count: 2025-Q1 still has its 4 responses
    assert _sheet(book, "waves")[0]["Responses"] == 4
    html = (result.folder / "audit.html").read_text()
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in html or "=HYPERLINK(&quot;" in html


# ---- composite scales (the issue-12 tables, built here until the instrument lands) ---------------

SCALE_ITEMS = ["trust", "voice_heard", "communication"]


@pytest.fixture(scope="module")
def scale_db(pack, tmp_path_factory):
    """A copy of the example's database with one composite scale in the spec's tables:
    ref.survey_scales / survey_scale_items / survey_scale_bands, marts.survey_scale_scores (the
    mean of the scale's items a respondent answered, counted with at least min_items = 2) and
    marts.survey_scales_by_wave, built here until the instrument branch's models are on main."""
    import duckdb

    path = tmp_path_factory.mktemp("scales") / "coalition.duckdb"
    shutil.copy(pack.folder.parents[2] / "coalition.duckdb", path)
    con = duckdb.connect(str(path))
    con.execute("create or replace table ref.survey_scales as select 'trust_score' as scale, 'Trust' as name, "
                "1 as position, true as funder, 2 as min_items")
    con.execute("create or replace table ref.survey_scale_items as select * from (values "
                "('trust_score', 'trust', 1), ('trust_score', 'voice_heard', 2), ('trust_score', 'communication', 3)) "
                "as t(scale, item, position)")
    con.execute("create or replace table ref.survey_scale_bands as select * from (values "
                "('trust_score', 1, 'strength', 4.0), ('trust_score', 2, 'borderline', 3.0), "
                "('trust_score', 3, 'concern', 1.0)) as t(scale, position, label, min)")
    con.execute("""create or replace table marts.survey_scale_scores as
                   select a.response_id, a.wave, a.member_id, s.scale, avg(a.score) as score, count(*) as items_answered
                   from staging.stg_survey_answers a join ref.survey_scale_items s using (item)
                   group by all having count(*) >= 2""")
    # as the spec's marts.survey_scales_by_wave (the band read to 1e-9)
    con.execute("""create or replace table marts.survey_scales_by_wave as
                   with stats as (select wave, scale, count(*) as n, avg(score) as mean, stddev_samp(score) as sd
                                  from marts.survey_scale_scores group by all)
                   select q.quarter as wave, q.seq, s.scale, s.position as scale_position, coalesce(st.n, 0) as n,
                          st.mean, st.sd, st.mean - t.t975 * st.sd / sqrt(st.n) as ci_low,
                          st.mean + t.t975 * st.sd / sqrt(st.n) as ci_high,
                          (select b.label from ref.survey_scale_bands b where b.scale = s.scale
                           and b.min <= st.mean + 1e-9 order by b.min desc limit 1) as band,
                          coalesce(st.n, 0) < 5 as is_suppressed
                   from ref.quarters q cross join ref.survey_scales s
                   left join stats st on st.wave = q.quarter and st.scale = s.scale
                   left join ref.t_critical t on t.df = st.n - 1""")
    yield con
    con.close()


def test_scales_get_stats_distribution_band_and_hand_worked_alpha(scale_db, answers, pack):
    from coalition_metrics.audit import tables

    audit = tables.build(scale_db, _settings(pack.folder.parents[2]), "2024-Q4", "2026-Q3")
    scale_rows = [r for r in audit.table("measures").rows if r["kind"] == "scale"]
    assert [r["wave"] for r in scale_rows] == ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1",
                                               "2026-Q2", "2026-Q3"]
    for r in scale_rows:
        scores = [sum(v[i] for i in SCALE_ITEMS if i in v) / sum(1 for i in SCALE_ITEMS if i in v)
                  for v in answers["by_response"][r["wave"]].values() if sum(1 for i in SCALE_ITEMS if i in v) >= 2]
        assert r["n"] == len(scores)
        if len(scores) < 5:
            assert r["mean"] == "n<5" and r["band"] == "n<5"
            continue
        mean = sum(scores) / len(scores)
        _close(r["mean"], mean)
        assert r["band"] == ("strength" if mean >= 4 - 1e-9 else "borderline" if mean >= 3 - 1e-9 else "concern")
        sd = math.sqrt(sum((x - mean) ** 2 for x in scores) / (len(scores) - 1))
        _close(r["sd"], sd)
        top2 = sum(1 for x in scores if x >= 4) / len(scores)
        _close(r["top2_share"], top2)
        dist = [d for d in audit.distribution if d["kind"] == "scale" and d["wave"] == r["wave"]]
        assert [d["point"] for d in dist] == [1, 2, 3, 4, 5]
        assert [d["count"] for d in dist] == [sum(1 for s in scores if math.floor(s + 0.5) == p) for p in range(1, 6)]
    alpha = [r for r in audit.table("alpha").rows if r["kind"] == "scale"]
    assert {r["scale"] for r in alpha} == {"trust_score"} and len(alpha) == 8
    numeric = 0
    for r in alpha:
        complete = [[v[i] for i in SCALE_ITEMS] for _, v in sorted(answers["by_response"][r["wave"]].items())
                    if all(i in v for i in SCALE_ITEMS)]
        assert r["n"] == len(complete) and r["items"] == 3
        if len(complete) >= 5:
            _close(r["alpha"], _hand_alpha(complete))
            numeric += 1
    assert numeric == 7
    trend = next(r for r in audit.table("trend").rows if r["kind"] == "scale")
    assert trend["measure"] == "trust_score" and trend["waves"] == 7


# ---- member-level rows: in the audit pack, never in funder outputs ---------------------------------

def _members() -> list[tuple[str, str]]:
    with open(EXAMPLE_CSV / "members.csv", newline="") as f:
        return [(r["member_id"], r["organization"]) for r in csv.DictReader(f)]


def test_funder_outputs_name_no_member_and_the_audit_pack_does(example_run, pack, book):
    members = _members()
    assert len(members) == 10
    for name in ("funder_metrics.csv", "funder_metrics.json", "funder.html"):
        text = (example_run.folder / name).read_text(encoding="utf-8")
        for member_id, organization in members:
            assert not re.search(rf"\b{re.escape(member_id)}\b", text), (name, member_id)
            assert organization.lower() not in text.lower(), (name, organization)
    html = (pack.folder / "audit.html").read_text()
    assert "Riverside Chamber of Commerce" in html and "Casa de la Familia" in html
    assert re.search(r"<td>M04</td>", html) and re.search(r"<td>M07</td>", html)
    assert _sheet(book, "duplicates")[0]["Organization"] == "Riverside Chamber of Commerce"


# ---- the page in a browser -------------------------------------------------------------------------

def test_audit_html_renders_in_chromium(pack):
    from browser import CHROMIUM, Page

    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make debian-test)")
    page = Page()
    try:
        page.open(pack.folder / "audit.html")
        assert page.errors() == []
        assert page.evaluate("document.querySelectorAll('table[data-table]').length") == 10  # 2 empty lists
        assert page.evaluate("document.querySelectorAll('figure svg').length") == 12
        widths = page.evaluate("[...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().width)")
        assert all(w > 400 for w in widths)
        assert page.evaluate("document.querySelector('a[href=\"audit.xlsx\"]') !== null")
    finally:
        page.close()


def test_wave_change_without_spread_leaves_welch_empty_and_still_runs_mann_whitney():
    from scipy import stats as sp

    from coalition_metrics.audit.stats import wave_change

    same = wave_change([4.0] * 6, [4.0] * 7)
    assert (same.welch_t, same.welch_df, same.welch_p) == (None, None, None)
    assert same.mwu_u == 21.0 and same.mwu_p == 1.0
    c = wave_change([4.0, 5.0, 3.0, 4.0, 5.0], [2.0, 3.0, 3.0, 4.0, 2.0, 3.0])
    ref = sp.ttest_ind([4.0, 5.0, 3.0, 4.0, 5.0], [2.0, 3.0, 3.0, 4.0, 2.0, 3.0], equal_var=False)
    _close(c.welch_t, float(ref.statistic))
    assert c.mwu_u == sp.mannwhitneyu([4.0, 5.0, 3.0, 4.0, 5.0], [2.0, 3.0, 3.0, 4.0, 2.0, 3.0]).statistic
