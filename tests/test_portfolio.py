"""Portfolios (docs/portfolio.md): the portfolio file, a run of several coalitions without Prefect,
each coalition's funder files byte-identical to its single run, a failing coalition reported while
the others publish, and the portfolio summary read from the published funder files."""

import csv
import io
import json
import re
import statistics
from datetime import date
from pathlib import Path

import pytest

from conftest import ROOT
from coalition_metrics.config import load_settings
from coalition_metrics.errors import ConfigError
from coalition_metrics.portfolio.config import is_portfolio, load_portfolio

EXAMPLE = ROOT / "examples" / "portfolio" / "portfolio.toml"
NO_PDF_ENV = {"COALITION_OUTPUT_PDF": "false"}
QUARTER = "2026-Q3"
OWN_QUARTER = {"riverside": "2026-Q3", "riverside-fy": "FY2027-Q1", "wilder": "2026-Q3"}


# ---- the portfolio file ----------------------------------------------------------------------
def test_example_portfolio_settings_equal_single_configs():
    p = load_portfolio(EXAMPLE, environ={})
    assert p.ids == ["riverside", "riverside-fy", "wilder"]
    riverside, fy, wilder = p.coalitions
    assert riverside.source_location == fy.source_location == str(ROOT / "examples" / "riverside" / "csv")
    assert wilder.source_location == str(ROOT / "examples" / "wilder" / "csv")  # relative to wilder's own file
    assert (riverside.fiscal_year_start_month, fy.fiscal_year_start_month) == (1, 7)
    assert fy.coalition_name == "Riverside Fiscal-Year Partnership"
    assert p.settings.output_folder == ROOT / "examples" / "portfolio" / "output"

    single = load_settings(ROOT / "examples" / "wilder" / "coalition.toml", environ={})
    same = single.with_overrides(coalition={"id": "wilder"}, output={"folder": str(p.settings.output_folder)})
    assert wilder.data == same.data and wilder.config_hash() == same.config_hash()
    assert wilder.survey_items == single.survey_items and "equal_say" in wilder.survey_items
    bundled = load_settings(None, environ={}).with_overrides(
        coalition={"id": "riverside"}, output={"folder": str(p.settings.output_folder)})
    assert riverside.config_hash() == bundled.config_hash()


def test_layers_and_paths_match_an_equivalent_single_file(tmp_path):
    (tmp_path / "north").mkdir()
    (tmp_path / "north" / "north.toml").write_text(
        '[coalition]\nname = "North"\n[source]\nlocation = "sheets"\ndate_format = "D/M/YYYY"\n'
        '[metrics]\nsmall_n = 7\n')
    (tmp_path / "portfolio.toml").write_text(
        '[metrics]\nsmall_n = 6\nalert_absences = 4\n[output]\nfolder = "runs"\npdf = false\n'
        '[[portfolio.coalitions]]\nid = "north"\nconfig = "north/north.toml"\n'
        '[portfolio.coalitions.metrics]\nalert_drop = 0.3\n'
        '[[portfolio.coalitions]]\nid = "south-2"\n[portfolio.coalitions.source]\nlocation = "south"\n')
    p = load_portfolio(tmp_path / "portfolio.toml", environ={"COALITION_OUTPUT_LOCK_TIMEOUT_SECONDS": "5"})
    north, south = p.coalitions
    (tmp_path / "single.toml").write_text(
        f'[coalition]\nname = "North"\nid = "north"\n[source]\nlocation = "{tmp_path / "north" / "sheets"}"\n'
        f'date_format = "D/M/YYYY"\n[metrics]\nsmall_n = 7\nalert_absences = 4\nalert_drop = 0.3\n'
        f'[output]\nfolder = "runs"\npdf = false\nlock_timeout_seconds = 5.0\n')
    single = load_settings(tmp_path / "single.toml", environ={})
    assert north.data == single.data and north.config_hash() == single.config_hash()
    assert (north.small_n, south.small_n) == (7, 6)  # the entry's file over the shared sections
    assert south.source_location == str(tmp_path / "south") and south.coalition_id == "south-2"
    assert south.date_format == "M/D/YYYY" and south.data["metrics"]["alert_drop"] == 0.25
    assert p.settings.output_folder == tmp_path / "runs" and not p.settings.print_pdfs
    assert is_portfolio(tmp_path / "portfolio.toml") and not is_portfolio(tmp_path / "single.toml")
    assert not is_portfolio(tmp_path / "missing.toml") and not is_portfolio(None)


ENTRY = '[[portfolio.coalitions]]\nid = "{id}"\n[portfolio.coalitions.source]\nlocation = "csv"\n'


@pytest.mark.parametrize(
    "text, env, message",
    [
        (ENTRY.format(id="north") + ENTRY.format(id="north"), {},
         "entries 1 and 2 both have id 'north'"),
        (ENTRY.format(id="North County"), {}, "entry 1 has id 'North County'; an id is 1 to 40 characters"),
        (ENTRY.format(id="-north"), {}, "entry 1 has id '-north'"),
        (ENTRY.format(id="n" * 41), {}, "an id is 1 to 40 characters"),
        (ENTRY.format(id="portfolio"), {}, "entry 1 has id 'portfolio', the name of the folder the portfolio summary goes in"),
        ('[[portfolio.coalitions]]\nconfig = "x.toml"\n', {}, "entry 1 has no id"),
        (ENTRY.format(id="north") + 'colour = "blue"\n', {},
         "coalition 'north' (entry 1): unknown setting 'colour'"),
        (ENTRY.format(id="north") + '[portfolio.coalitions.output]\nfolder = "elsewhere"\n', {},
         "coalition 'north' (entry 1) sets [output], which is portfolio-wide"),
        (ENTRY.format(id="north") + '[portfolio.coalitions.metrics]\nsmall_m = 3\n', {},
         "coalition 'north' (entry 1): unknown setting 'small_m' in [metrics]"),
        (ENTRY.format(id="north") + '[portfolio.coalitions.quarters]\nfiscal_year_start_month = 13\n', {},
         "coalition 'north' (entry 1): [quarters] fiscal_year_start_month must be 1..12"),
        ('[[portfolio.coalitions]]\nid = "north"\n[portfolio.coalitions.coalition]\nname = "North"\n', {},
         "coalition 'north' (entry 1) has no source"),
        ('[source]\nlocation = "csv"\n' + ENTRY.format(id="north"), {},
         "[source] location is set in the shared sections"),
        (ENTRY.format(id="north") + '[portfolio.coalitions.coalition]\nid = "south"\n', {},
         "[coalition] id = 'south' differs from the entry's id 'north'"),
        ('[portfolio]\nname = "x"\n' + ENTRY.format(id="north").replace("[[portfolio.coalitions]]", "[[portfolio.coalitions]]"),
         {}, "unknown setting 'name' in [portfolio]"),
        ('[portfolio]\n', {}, "[portfolio] lists no coalitions"),
        ('[[portfolio.coalitions]]\nid = "north"\nconfig = "north.toml"\n', {},
         "entry 1.: its config file .*north.toml does not exist"),
        ('[[portfolio.coalitions]]\nid = "north"\nconfig = "bad.toml"\n', {},
         "its config file .*bad.toml sets \\[output\\], which is portfolio-wide"),
        (ENTRY.format(id="north"), {"COALITION_SOURCE_LOCATION": "/tmp/x"},
         "Environment variable COALITION_SOURCE_LOCATION overrides \\[source\\], which each coalition"),
        (ENTRY.format(id="north") + '[portfolio.coalitions.tabs]\nsurvey = "Members"\n', {},
         "coalition 'north' (entry 1): [tabs] members and survey both name the tab 'Members'"),
    ],
)
def test_bad_portfolio_files_are_one_paragraph(tmp_path, text, env, message):
    (tmp_path / "bad.toml").write_text('[output]\nfolder = "x"\n')
    (tmp_path / "p.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_portfolio(tmp_path / "p.toml", environ=env)
    pattern = message if "\\[" in message or ".*" in message else re.escape(message)
    assert re.search(pattern, str(err.value)), str(err.value)
    assert "\n" not in str(err.value)
    assert str(tmp_path / "p.toml") in str(err.value) or message.startswith("Environment variable")


# ---- a run of the example portfolio -------------------------------------------------------------
@pytest.fixture(scope="session")
def portfolio_run(tmp_path_factory):
    """The example portfolio run without Prefect (no PDFs), quarter 2026-Q3."""
    from coalition_metrics.portfolio.run import run_portfolio

    out = tmp_path_factory.mktemp("portfolio-run")
    today = date.today()
    result = run_portfolio(load_portfolio(EXAMPLE, environ=NO_PDF_ENV), quarter=QUARTER, out=out, today=today)
    return result, out, today


def single_settings(cid: str):
    """Each coalition as a single run would read it, independently of the portfolio file."""
    if cid == "wilder":
        s = load_settings(ROOT / "examples" / "wilder" / "coalition.toml", environ={})
    else:
        s = load_settings(None, environ={})
    if cid == "riverside-fy":
        s = s.with_overrides(coalition={"name": "Riverside Fiscal-Year Partnership"},
                             quarters={"fiscal_year_start_month": 7})
    return s.with_overrides(output={"pdf": False})


def test_each_coalition_publishes_as_its_single_run(portfolio_run, tmp_path):
    from coalition_metrics.pipeline import run_quarterly

    result, out, today = portfolio_run
    assert result.exit_code == 0 and not result.failed
    assert [p.coalition_id for p in result.published] == ["riverside", "riverside-fy", "wilder"]
    for p in result.published:
        cid = p.coalition_id
        assert p.result.quarter == OWN_QUARTER[cid]
        assert p.result.folder.parent.parent == out / cid  # <out>/<id>/<quarter>/<run_id>/
        assert (out / cid / "coalition.duckdb").is_file() and (out / cid / "snapshots").is_dir()
        single = run_quarterly(single_settings(cid), quarter=OWN_QUARTER[cid], out=tmp_path / cid, today=today)
        for name in ("funder_metrics.csv", "funder_metrics.json"):
            assert (p.result.folder / name).read_bytes() == (single.folder / name).read_bytes(), (cid, name)
        # the report, read with the other coalitions' (report_reads.read_many), is its own: the same
        # page but for the run id
        reports = [(folder / "report.html").read_text().replace(folder.name, "RUN-ID")
                   for folder in (p.result.folder, single.folder)]
        assert len(re.findall(r"<svg.*?</svg>", reports[0], re.S)) >= 6 and "RUN-ID" in reports[0]
        assert reports[0] == reports[1], cid
        assert p.result.manifest["snapshot"]["tabs"] == single.manifest["snapshot"]["tabs"]
    # the three differ where their settings do: another year, another instrument
    docs = {p.coalition_id: json.loads((p.result.folder / "funder_metrics.json").read_text()) for p in result.published}
    assert docs["riverside-fy"]["quarter"] == "FY2027-Q1" and docs["riverside"]["quarter"] == "2026-Q3"
    sat = {cid: next((r["value"] for r in d["metrics"] if r["metric_id"] == "satisfaction_mean"
                      and r["quarter"] == d["quarter"]), None) for cid, d in docs.items()}
    assert sat["riverside"] == sat["riverside-fy"] is not None  # same months, same answers
    assert sat["wilder"] is None  # no satisfaction item in that instrument: no figure, never a 0


def test_reads_for_many_coalitions_are_each_coalition_s_own_reads(portfolio_run):
    """report_reads.read_many reads every coalition's published figures, chart rows and report tables
    in one query each; each coalition gets exactly what its own view reads alone, and nothing of
    another's."""
    from coalition_metrics.coalition_db import coalition_view
    from coalition_metrics.keyed_reads import current_coalition
    from coalition_metrics.report_reads import read_many
    from coalition_metrics.render import published_rows

    result, out, _ = portfolio_run
    plans = [p.plan for p in result.published]
    with coalition_view(out / "portfolio.duckdb", plans[0].settings.coalition_id) as con:
        together = read_many(con, plans)
        for plan in plans:
            cid = plan.settings.coalition_id
            con.execute("set variable coalition_id = ?", [cid])
            assert current_coalition(con) == cid
            alone = read_many(con, [plan])[cid]
            assert together[cid] == alone and together[cid]["rows"] == published_rows(con)
            assert len(alone["rows"]) > 100 and sum(len(r) for r in alone["charts"].values()) > 20
            assert len(alone["tables"]["survey_items"]) >= 3 and len(alone["tables"]["quarter_counts"]) == 1
    assert together["riverside"]["charts"] != together["wilder"]["charts"]
    import duckdb

    con = duckdb.connect(str(out / "portfolio.duckdb"), read_only=True)
    try:
        with pytest.raises(ValueError, match="holds 3 coalitions"):
            current_coalition(con)  # a portfolio's database is read through one coalition's view
    finally:
        con.close()


def test_runs_are_recorded_in_each_coalition_folder(portfolio_run):
    from coalition_metrics.runs import list_runs

    result, out, _ = portfolio_run
    for p in result.published:
        runs = list_runs(out / p.coalition_id, p.plan.settings)
        assert [(r["run_id"], r["status"]) for r in runs] == [(p.result.run_id, "succeeded")]
        # prepare left its row in the write-ahead log; publishing checkpointed it
        assert not (out / p.coalition_id / "coalition.duckdb.wal").exists()


def test_a_prepared_coalition_is_recorded_running_with_its_snapshot(tmp_path):
    """prepare_many records each run once, with its snapshot (so it can be resumed), and leaves the
    row in the write-ahead log: another connection reads it there, and its next writer checkpoints."""
    from coalition_metrics.portfolio.run import plan_coalition, portfolio_quarter, prepare_many
    from coalition_metrics.runs import list_runs, record_run

    portfolio = load_portfolio(EXAMPLE, environ=NO_PDF_ENV)
    today = date.today()
    q = portfolio_quarter(portfolio, QUARTER, today)
    planned = [(s, plan_coalition(s, q, today, tmp_path)) for s in portfolio.coalitions]
    prepared, failed = prepare_many(planned)
    assert not failed and len(prepared) == 3
    for p in prepared:
        assert (tmp_path / p.coalition_id / "coalition.duckdb.wal").is_file()
        runs = list_runs(tmp_path / p.coalition_id, p.plan.settings)
        assert [(r["run_id"], r["status"], r["snapshot_id"]) for r in runs] == [
            (p.plan.run_id, "running", p.snap.snapshot_id)]
    record_run(prepared[0].plan, "succeeded", prepared[0].snap.snapshot_id)
    assert not (tmp_path / prepared[0].coalition_id / "coalition.duckdb.wal").exists()


def test_summary_values_are_the_published_figures(portfolio_run):
    from coalition_metrics.portfolio.summary import headline_metrics

    result, out, _ = portfolio_run
    assert result.folder == out / "portfolio" / QUARTER / result.run_id
    rows = list(csv.DictReader(io.StringIO((result.folder / "summary.csv").read_text())))
    assert [r["coalition_id"] for r in rows] == ["riverside", "riverside-fy", "wilder"]
    ids = [m.id for m in headline_metrics()]
    assert ids == ["attendance_rate", "engagement_rate", "task_completion_rate", "satisfaction_mean", "goals_on_track"]
    checked = 0
    for row, p in zip(rows, result.published):
        doc = json.loads((p.result.folder / "funder_metrics.json").read_text())
        by_id = {r["metric_id"]: r for r in doc["metrics"] if r["quarter"] == doc["quarter"]}
        assert (row["status"], row["quarter"], row["run_id"]) == ("published", doc["quarter"], p.result.run_id)
        for mid in ids + ["disengagement_alerts"]:
            rec = by_id.get(mid, {"suppressed": False, "value": None})
            if rec["suppressed"]:
                assert (row[mid], row[f"{mid}_status"]) == ("", "suppressed")
            elif rec["value"] is None:
                assert row[mid] == "" and row.get(f"{mid}_status", "no data") == "no data"
            else:
                assert float(row[mid]) == rec["value"]
                checked += 1
        assert int(row["rows_set_aside"]) == doc["completeness"]["rows_set_aside"]
        assert int(row["rows_set_aside_to_fix"]) == doc["completeness"]["rows_set_aside_to_fix"]
        assert row["blocking_issues"] == "0"
        assert (result.folder / row["report"]).resolve() == p.result.report.resolve()
    assert checked >= 14
    assert rows[2]["satisfaction_mean_status"] == "no data" and rows[2]["satisfaction_mean"] == ""

    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert [(c["id"], c["status"], c["run_id"]) for c in manifest["coalitions"]] == [
        (p.coalition_id, "published", p.result.run_id) for p in result.published]
    assert manifest["coalitions"][1]["folder"] == f"riverside-fy/FY2027-Q1/{result.published[1].result.run_id}"


def test_distribution_is_over_coalitions_with_a_value(portfolio_run):
    result, _, _ = portfolio_run
    rows = list(csv.DictReader(io.StringIO((result.folder / "summary.csv").read_text())))
    dist = {d["metric_id"]: d for d in csv.DictReader(io.StringIO((result.folder / "distribution.csv").read_text()))}
    for mid, d in dist.items():
        values = sorted(float(r[mid]) for r in rows if r[f"{mid}_status"] == "value")
        assert int(d["n_coalitions"]) == len(values)
        if not values:
            assert d["median"] == d["min"] == ""
            continue
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
        for key, want in (("min", values[0]), ("q1", q1), ("median", median), ("q3", q3), ("max", values[-1])):
            assert float(d[key]) == pytest.approx(want, abs=1e-4), (mid, key)
    assert dist["satisfaction_mean"]["n_coalitions"] == "2" and dist["satisfaction_mean"]["no_data"] == "1"
    assert dist["attendance_rate"]["n_coalitions"] == "3"


def test_summary_page_in_a_browser(portfolio_run):
    from browser import Page

    result, _, _ = portfolio_run
    page = Page()
    try:
        page.open(result.folder / "summary.html")
        assert page.errors() == []
        assert page.evaluate("document.querySelectorAll('h2 + table')[0].rows.length") == 4
        assert page.evaluate("document.querySelectorAll('h2 + table')[1].rows.length") == 6
        links = page.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
        assert len(links) == 3 and all(Path(link.removeprefix("file://")).is_file() for link in links)
        assert "no data" in page.evaluate("document.body.innerText")
    finally:
        page.close()


def day_first_copy(target: Path) -> Path:
    """The example's sheets as a coalition that writes dates day first: every M/D/YYYY cell written
    D/M/YYYY (3/10/2026 -> 10/3/2026), to be read with [source] date_format = "D/M/YYYY"."""
    import shutil

    shutil.copytree(ROOT / "examples" / "riverside" / "csv", target)
    swapped = 0
    for path in target.glob("*.csv"):
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        for row in rows[1:]:
            for i, cell in enumerate(row):
                m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(.*)", cell)
                if m:
                    row[i], swapped = f"{m[2]}/{m[1]}/{m[3]}{m[4]}", swapped + 1
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")
    assert swapped > 200  # the tasks' and the survey's dates
    return target


def test_coalitions_that_write_dates_differently_publish_from_one_build(tmp_path):
    """One coalition's sheets are read month first, another's day first ([source] date_format is
    per coalition): both are built in the portfolio's one database, and the day-first copy of the
    example publishes the example's own funder files."""
    from coalition_metrics.portfolio.run import run_portfolio

    uk = day_first_copy(tmp_path / "uk")
    (tmp_path / "p.toml").write_text(
        '[output]\npdf = false\n'
        f'[[portfolio.coalitions]]\nid = "us"\n[portfolio.coalitions.source]\nlocation = "{ROOT / "examples" / "riverside" / "csv"}"\n'
        f'[[portfolio.coalitions]]\nid = "uk"\n[portfolio.coalitions.source]\nlocation = "{uk}"\n'
        'date_format = "D/M/YYYY"\n')
    result = run_portfolio(load_portfolio(tmp_path / "p.toml", environ={}), quarter=QUARTER, out=tmp_path / "out")
    assert result.exit_code == 0 and not result.failed, result.failed
    folders = {p.coalition_id: p.result.folder for p in result.published}
    for name in ("funder_metrics.csv", "funder_metrics.json"):
        assert (folders["uk"] / name).read_bytes() == (folders["us"] / name).read_bytes(), name
    quarantined = {cid: (folder / "validation" / "quarantine.csv").read_text().count("\n") for cid, folder in folders.items()}
    assert quarantined["uk"] == quarantined["us"]  # no date read as bad in either


def test_each_coalition_s_dates_are_read_in_its_own_format():
    import duckdb

    from coalition_metrics.transform import register_functions

    us = load_settings(None, environ={}).with_overrides(coalition={"id": "us"})
    uk = us.with_overrides(coalition={"id": "uk"}, source={"date_format": "D/M/YYYY"})
    con = duckdb.connect()
    register_functions(con, [us, uk])
    got = con.execute("""select cm_date('us', '3/10/2026')::varchar, cm_date('uk', '3/10/2026')::varchar,
                                cm_timestamp('uk', '13/10/2026 9:05:00')::varchar, cm_date('uk', '10/13/2026')""").fetchall()
    assert got == [("2026-03-10", "2026-10-03", "2026-10-13 09:05:00", None)]
    with pytest.raises(duckdb.Error, match="no settings for coalition 'other' to read its dates with"):
        con.execute("select cm_date('other', '3/10/2026')").fetchall()


# ---- failures ----------------------------------------------------------------------------------
def test_a_missing_source_is_reported_while_the_others_publish(tmp_path, capsys):
    from coalition_metrics.cli import main

    (tmp_path / "p.toml").write_text(
        '[output]\npdf = false\n'
        f'[[portfolio.coalitions]]\nid = "riverside"\n[portfolio.coalitions.source]\nlocation = "{ROOT / "examples" / "riverside" / "csv"}"\n'
        '[portfolio.coalitions.metrics]\nsmall_n = 20\n'  # 9 survey responses in 2026-Q3: suppressed
        '[[portfolio.coalitions]]\nid = "ghost"\n[portfolio.coalitions.coalition]\nname = "Ghost Coalition"\n'
        '[portfolio.coalitions.source]\nlocation = "nowhere"\n')
    code = main(["run", "--config", str(tmp_path / "p.toml"), "--quarter", QUARTER, "--out", str(tmp_path / "out"),
                 "--no-prefect"])
    printed = capsys.readouterr().out
    assert code == 1, printed
    lines = printed.splitlines()
    assert lines[0].startswith(f"Portfolio {QUARTER} (portfolio run ") and lines[0].endswith("1 published, 1 failed")
    assert lines[1].startswith(f"  riverside: published -> {tmp_path / 'out' / 'riverside' / QUARTER}")
    assert lines[2] == (f"  ghost: failed -> extract: Source {tmp_path / 'nowhere'} does not exist. Give a folder of CSV "
                        f"files, an .xlsx workbook or a Google Sheets URL (set [source] location in the config or pass --source).")
    quarter_dir = tmp_path / "out" / "portfolio" / QUARTER
    summary = quarter_dir / (quarter_dir / "LATEST").read_text().strip()
    assert lines[3] == f"  summary: {summary / 'summary.html'} (and summary.csv)"
    rows = {r["coalition_id"]: r for r in csv.DictReader(io.StringIO((summary / "summary.csv").read_text()))}
    assert rows["ghost"]["status"] == "failed" and rows["ghost"]["failed_stage"] == "extract"
    assert rows["ghost"]["attendance_rate"] == "" and rows["ghost"]["attendance_rate_status"] == ""
    assert "does not exist" in rows["ghost"]["message"]
    assert (rows["riverside"]["satisfaction_mean"], rows["riverside"]["satisfaction_mean_status"]) == ("", "suppressed")
    assert rows["riverside"]["satisfaction_mean_n"] == "9" and rows["riverside"]["attendance_rate_status"] == "value"
    dist = {d["metric_id"]: d for d in csv.DictReader(io.StringIO((summary / "distribution.csv").read_text()))}
    assert (dist["satisfaction_mean"]["n_coalitions"], dist["satisfaction_mean"]["suppressed"]) == ("0", "1")
    assert dist["satisfaction_mean"]["median"] == ""  # no value: not a 0
    assert "n&lt;20" in (summary / "summary.html").read_text()  # shown as suppressed, HTML-escaped
    manifest = json.loads((summary / "manifest.json").read_text())
    ghost = next(c for c in manifest["coalitions"] if c["id"] == "ghost")
    assert (ghost["status"], ghost["stage"]) == ("failed", "extract") and "nowhere" in ghost["message"]
    assert (tmp_path / "out" / "riverside" / QUARTER).is_dir()
    # its failure is in the database file itself, not left in a write-ahead log no publish folds in
    assert not (tmp_path / "out" / "ghost" / "coalition.duckdb.wal").exists()
    from coalition_metrics.runs import list_runs

    runs = list_runs(tmp_path / "out" / "ghost", load_settings(None, environ={}))
    assert [(r["status"], r["run_id"]) for r in runs] == [("failed", ghost["run_id"])]


def test_blocking_validation_and_no_coalition_published(tmp_path, example_copy, capsys):
    from coalition_metrics.cli import main

    members = example_copy / "members.csv"
    members.write_text(members.read_text().replace("member_id", "member_key", 1))
    (tmp_path / "p.toml").write_text(
        f'[[portfolio.coalitions]]\nid = "broken"\n[portfolio.coalitions.source]\nlocation = "{example_copy}"\n'
        '[[portfolio.coalitions]]\nid = "ghost"\n[portfolio.coalitions.source]\nlocation = "nowhere"\n')
    code = main(["run", "--config", str(tmp_path / "p.toml"), "--quarter", QUARTER, "--out", str(tmp_path / "out"),
                 "--no-prefect"])
    printed = capsys.readouterr().out
    assert code == 2, printed
    assert "  broken: failed -> validate: Validation stopped the run; nothing was published." in printed
    assert "0 published, 2 failed" in printed
    quarter_dir = tmp_path / "out" / "portfolio" / QUARTER
    summary = quarter_dir / (quarter_dir / "LATEST").read_text().strip()
    rows = {r["coalition_id"]: r for r in csv.DictReader(io.StringIO((summary / "summary.csv").read_text()))}
    assert rows["broken"]["failed_stage"] == "validate" and int(rows["broken"]["blocking_issues"]) >= 1


def test_cli_refuses_source_for_a_portfolio(tmp_path, capsys):
    from coalition_metrics.cli import main

    (tmp_path / "p.toml").write_text(ENTRY.format(id="north"))
    assert main(["run", "--config", str(tmp_path / "p.toml"), "--source", "x", "--no-prefect"]) == 2
    assert "--source cannot be used with the portfolio" in capsys.readouterr().err


def test_quarters_cover_the_same_months_or_the_coalition_fails_at_plan(tmp_path):
    from coalition_metrics.errors import CoalitionError
    from coalition_metrics.portfolio.run import plan_coalition, portfolio_quarter
    from coalition_metrics.quarters import Quarter, same_months

    q = Quarter.parse("2026-Q3")
    assert same_months(q, 7).label == "FY2027-Q1" and same_months(q, 10).label == "FY2026-Q4"
    assert same_months(q, 4).label == "FY2027-Q2" and same_months(q, 2) is None
    assert same_months(Quarter.parse("FY2027-Q1", 7), 1).label == "2026-Q3"
    p = load_portfolio(EXAMPLE, environ={})
    assert portfolio_quarter(p, None, date(2026, 11, 26)).label == "2026-Q3"
    with pytest.raises(CoalitionError, match="--quarter 'FY2027-Q1': quarters are calendar quarters here"):
        portfolio_quarter(p, "FY2027-Q1", date(2026, 11, 26))
    plan = plan_coalition(p.coalitions[1], q, date(2026, 11, 26), tmp_path)
    assert (plan.quarter.label, plan.as_of, plan.out_dir) == ("FY2027-Q1", date(2026, 9, 30), tmp_path / "riverside-fy")
    feb = p.coalitions[1].with_overrides(quarters={"fiscal_year_start_month": 2})
    with pytest.raises(CoalitionError, match=r"2026-Q3 \(2026-07-01 to 2026-09-30\) is not a quarter of coalition "
                                             r"'riverside-fy', whose year starts in month 2"):
        plan_coalition(feb, q, date(2026, 11, 26), tmp_path)


def test_exit_status_rule():
    from coalition_metrics.portfolio.run import Failed, PortfolioResult, Published

    ok = Published("a", "A", None, None)
    bad = Failed("b", "B", "extract", "Source x does not exist.")
    written = Published("c", "C", None, None, write_back="the sheet is shared as Viewer only")
    code = lambda pub, fail: PortfolioResult("r", "2026-Q3", pub, fail, Path(".")).exit_code  # noqa: E731
    assert (code([ok], []), code([ok], [bad]), code([], [bad]), code([ok, written], []), code([written], [bad])) == (0, 1, 2, 3, 1)


def test_quantiles_interpolate_between_ranks():
    from coalition_metrics.portfolio.summary import quantile

    values = [0.9, 0.1, 0.5, 0.3]
    assert [quantile(values, p) for p in (0, 0.25, 0.5, 0.75, 1)] == pytest.approx([0.1, 0.25, 0.4, 0.6, 0.9])
    assert statistics.quantiles(values, n=4, method="inclusive") == pytest.approx([0.25, 0.4, 0.6])
    assert quantile([7.0], 0.25) == 7.0


def test_other_commands_say_a_portfolio_file_is_one(capsys):
    from coalition_metrics.cli import main

    assert main(["runs", "--config", str(EXAMPLE)]) == 2
    err = capsys.readouterr().err
    assert "is a portfolio file (several coalitions, docs/portfolio.md)" in err and "\n" not in err.strip()


def test_a_stage_error_keeps_its_stage_and_problems_through_pickling(tmp_path):
    """A Prefect task on a Dask worker sends prepare_coalition's error back pickled."""
    import pickle

    from coalition_metrics.errors import BlockingValidationError, SourceError
    from coalition_metrics.portfolio.run import failure

    p = load_portfolio(EXAMPLE, environ={})
    blocked = BlockingValidationError(["members: no header row", "meetings: no header row"])
    blocked.stage = "validate"
    source = SourceError("Source x does not exist.")
    source.stage = "extract"
    f1 = failure(p.coalitions[0], pickle.loads(pickle.dumps(blocked)))
    f2 = failure(p.coalitions[2], pickle.loads(pickle.dumps(source)))
    assert (f1.coalition_id, f1.stage, f1.blocking_issues) == ("riverside", "validate", 2)
    assert f1.message == ("Validation stopped the run; nothing was published. - members: no header row "
                          "- meetings: no header row")
    assert (f2.coalition_id, f2.name, f2.stage, f2.message) == (
        "wilder", "Riverside Collaboration (Wilder inventory example)", "extract", "Source x does not exist.")


# ---- worker processes (portfolio/parallel.py) ----------------------------------------------------
def test_worker_processes_publish_what_the_run_s_own_process_does(portfolio_run, tmp_path):
    """[orchestration] portfolio_processes = 2: the example's coalitions prepared and published in two
    spawned workers (riverside and riverside-fy in one, wilder in the other: contiguous chunks) give the
    same funder files, quarantine and runs rows as the in-process run."""
    from coalition_metrics.portfolio.run import run_portfolio
    from coalition_metrics.runs import list_runs

    serial, serial_out, today = portfolio_run
    env = {**NO_PDF_ENV, "COALITION_ORCHESTRATION_PORTFOLIO_PROCESSES": "2"}
    portfolio = load_portfolio(EXAMPLE, environ=env)
    assert portfolio.settings.data["orchestration"]["portfolio_processes"] == 2
    result = run_portfolio(portfolio, quarter=QUARTER, out=tmp_path, today=today)
    assert result.exit_code == 0
    assert [p.coalition_id for p in result.published] == [p.coalition_id for p in serial.published]
    for p, s in zip(result.published, serial.published):
        for name in ("funder_metrics.csv", "funder_metrics.json", "validation/quarantine.json"):
            assert (p.result.folder / name).read_bytes() == (s.result.folder / name).read_bytes(), (p.coalition_id, name)
        runs = list_runs(tmp_path / p.coalition_id, p.plan.settings)
        assert [(r["run_id"], r["status"]) for r in runs] == [(p.result.run_id, "succeeded")]
    assert (result.folder / "summary.csv").read_text().count("\n") == 4
    assert not list(tmp_path.glob(".portfolio-part-*"))  # the workers' part files are gone after the build
    # each coalition's part of the summary comes back from its worker, taken from the funder document it
    # wrote: the same values and types as read from its funder_metrics.json
    from coalition_metrics.portfolio.summary import coalition_figures, read_published

    for p in [*result.published, *serial.published]:
        from_file = coalition_figures(read_published(p.result.folder), p.result.quarter, p.plan.settings.small_n)
        assert p.figures is not None and repr(p.figures) == repr(from_file), p.coalition_id


def _worker_state():
    import gc
    import sys

    from coalition_metrics.validate.suites import gx_context

    gx_context()
    return gc.get_threshold(), gc.get_freeze_count() > 0, "sqlalchemy" not in sys.modules


def test_workers_leave_out_sqlalchemy_and_collect_garbage_less_often():
    """Each worker process imports Great Expectations without SQLAlchemy (deferred.left_out: GX then
    leaves out its SQL sources), with its imported modules frozen for the garbage collector and a
    higher threshold."""
    from coalition_metrics.collector import THRESHOLD
    from coalition_metrics.portfolio.parallel import process_pool

    with process_pool(2) as pool:
        states = [f.result() for f in [pool.executor.submit(_worker_state) for _ in range(4)]]
    assert states == [(THRESHOLD, True, True)] * 4


def test_process_count_rule():
    from coalition_metrics.portfolio.parallel import MIN_PER_PROCESS, chunks, process_count

    assert process_count(1, 1000) == 1 and process_count(3, 2) == 2 and process_count(4, 1000) == 4
    assert process_count(0, MIN_PER_PROCESS - 1) == 1  # too few to pay for a worker's start
    assert 1 <= process_count(0, 10_000) <= 256
    assert chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert chunks([1], 4) == [[1]] and chunks(list(range(4)), 2) == [[0, 1], [2, 3]]


def _die(part):
    import os

    os._exit(3)


def test_a_worker_that_dies_fails_its_own_coalitions_only(tmp_path):
    """A worker process that dies (here: exits mid-chunk) reports each coalition of its chunk as
    failed at the stage, with a message saying what to do, and records that run as failed."""
    from coalition_metrics.portfolio.parallel import in_processes, process_pool
    from coalition_metrics.portfolio.run import Failed, plan_coalition
    from coalition_metrics.quarters import Quarter
    from coalition_metrics.runs import list_runs

    portfolio = load_portfolio(EXAMPLE, environ=NO_PDF_ENV)
    planned = [(s, plan_coalition(s, Quarter.parse(QUARTER), date.today(), tmp_path)) for s in portfolio.coalitions]
    with process_pool(2) as pool:
        outcomes = in_processes(pool, _die, planned, "prepare")
    assert [type(o) for o in outcomes] == [Failed] * 3
    assert [o.coalition_id for o in outcomes] == ["riverside", "riverside-fy", "wilder"]
    assert all(o.stage == "prepare" and "portfolio_processes = 1" in o.message for o in outcomes)
    runs = list_runs(tmp_path / "wilder", portfolio.coalitions[2])
    assert [(r["run_id"], r["status"]) for r in runs] == [(outcomes[2].run_id, "failed")]


def test_a_portfolio_past_its_time_limit_publishes_nothing_more(tmp_path):
    """[orchestration] flow_timeout_seconds bounds a portfolio run as it bounds a single run: checked
    between stages; past it, every coalition not yet published fails at that stage with a message
    naming the limit, recorded as a failed run, and the summary is still written (exit 2)."""
    from coalition_metrics.portfolio.run import run_portfolio
    from coalition_metrics.runs import list_runs

    env = {**NO_PDF_ENV, "COALITION_ORCHESTRATION_FLOW_TIMEOUT_SECONDS": "0.01"}
    portfolio = load_portfolio(EXAMPLE, environ=env)
    result = run_portfolio(portfolio, quarter=QUARTER, out=tmp_path)
    assert result.exit_code == 2 and not result.published
    assert [(f.coalition_id, f.stage) for f in result.failed] == [
        ("riverside", "load"), ("riverside-fy", "load"), ("wilder", "load")]
    assert all("flow_timeout_seconds" in f.message and "limit is 0.01 s" in f.message for f in result.failed)
    runs = list_runs(tmp_path / "wilder", portfolio.coalitions[2])
    assert [r["status"] for r in runs] == ["failed"] and "flow_timeout_seconds" in runs[0]["message"]
    assert (result.folder / "summary.csv").is_file() and not (tmp_path / "portfolio.duckdb").exists()


def test_parts_of_one_coalition_each_build_the_same_figures(portfolio_run, tmp_path, monkeypatch):
    """A worker writes a part database every PART_SIZE coalitions and drops their rows: with one
    coalition per part, the parts put together in DuckDB publish what the in-process build does."""
    from coalition_metrics.portfolio import run as prun
    from coalition_metrics.quarters import Quarter

    serial, _, today = portfolio_run
    monkeypatch.setattr(prun, "PART_SIZE", 1)
    portfolio = load_portfolio(EXAMPLE, environ=NO_PDF_ENV)
    planned = [(s, prun.plan_coalition(s, Quarter.parse(QUARTER), today, tmp_path)) for s in portfolio.coalitions]
    outcomes = prun.prepare_chunk(planned, part_dir=tmp_path)
    prepared = [o for o in outcomes if isinstance(o, prun.Prepared)]
    parts = [o for o in outcomes if isinstance(o, prun.Part)]
    assert [p.coalition_ids for p in parts] == [["riverside"], ["riverside-fy"], ["wilder"]]
    assert all(p.snap.tabs == {} and p.validation.tabs["attendance"].accepted is None for p in prepared)
    result = prun.publish_portfolio(prepared, [], portfolio, QUARTER, tmp_path, today=today, parts=parts)
    assert result.exit_code == 0 and not any(p.path.exists() for p in parts)
    for p, s in zip(result.published, serial.published):
        for name in ("funder_metrics.csv", "funder_metrics.json", "validation/quarantine.json"):
            assert (p.result.folder / name).read_bytes() == (s.result.folder / name).read_bytes(), (p.coalition_id, name)


def test_a_coalitions_new_database_is_a_copy_of_an_empty_one_and_never_replaces_one(tmp_path):
    """A portfolio attaches a database per coalition (runlock.attached_db): a new one is written as a
    copy of an empty database with the schemas and the runs table (made once per process, kept in
    memory), linked into place; a file that exists is never replaced, and nothing is left beside it."""
    import duckdb

    from coalition_metrics.load import RUNS_COLUMNS, SCHEMAS
    from coalition_metrics.runlock import _copy_of_empty_database, _empty_database

    new, taken = tmp_path / "c1" / "coalition.duckdb", tmp_path / "c2" / "coalition.duckdb"
    new.parent.mkdir()
    taken.parent.mkdir()
    taken.write_bytes(b"another run's database")
    _copy_of_empty_database(new)
    _copy_of_empty_database(taken)
    assert taken.read_bytes() == b"another run's database"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["coalition.duckdb", "coalition.duckdb"]
    con = duckdb.connect(str(new))
    try:
        schemas = {s for (s,) in con.execute("select schema_name from information_schema.schemata").fetchall()}
        assert set(SCHEMAS) <= schemas
        assert len(con.execute("select * from runs").description) == RUNS_COLUMNS
        assert con.execute("select count(*) from runs").fetchall() == [(0,)]
    finally:
        con.close()
    assert len(_empty_database) == 1 and len(_empty_database[0]) == new.stat().st_size  # the template, in memory


class _TeardownProbe:
    def __init__(self, path):
        self.path = path

    def __del__(self):
        with open(self.path, "a") as f:
            f.write("torn down\n")


def _probe_teardown(path):
    import sys

    sys.modules[f"_teardown_probe_{id(path)}"] = _TeardownProbe(path)  # freed by the interpreter's teardown
    return True


def test_workers_end_without_the_interpreters_teardown(tmp_path):
    """A worker ends as soon as the pool shuts it down (collector.leave_now, an exit handler run once
    its results are sent): the interpreter's teardown, about 0.9 s with Great Expectations loaded,
    would run while the whole run waits. The probe is an object that teardown frees: it never is.
    (Without the handler, the same probe writes its line: checked here in a plain child process.)"""
    import subprocess
    import sys

    from coalition_metrics.portfolio.parallel import process_pool

    probe = tmp_path / "teardown.txt"
    with process_pool(2) as pool:
        assert [f.result() for f in [pool.executor.submit(_probe_teardown, str(probe)) for _ in range(4)]] == [True] * 4
    assert not probe.exists()
    control = tmp_path / "control.txt"
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_portfolio as t; "
            f"t._probe_teardown({str(control)!r})")
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path, timeout=120).returncode == 0
    assert control.read_text().startswith("torn down")
