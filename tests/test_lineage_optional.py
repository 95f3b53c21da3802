"""[output] lineage = false: a run builds its figures without explain's row listings (their size
grows with rows x quarters); explain then lists the same rows by replaying the run, and a later
build never leaves another build's lineage tables behind."""

from __future__ import annotations

import json

import duckdb

from coalition_metrics.config import load_settings
from coalition_metrics.explain import explain
from coalition_metrics.pipeline import run_quarterly


def _tables(db, schema):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t for (t,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = ?", [schema]).fetchall()}
    finally:
        con.close()


def test_a_run_without_lineage_explains_the_same_rows_by_replay(example_run, tmp_path):
    out = tmp_path / "out"
    lean = load_settings(None, environ={}).with_overrides(output={"lineage": False, "pdf": False})
    result = run_quarterly(lean, quarter="2026-Q3", out=out, write_back=False)
    db = out / "coalition.duckdb"
    assert _tables(db, "lineage") == set()
    assert {"attendance_by_quarter", "published_metrics"} <= _tables(db, "marts")
    for published_id in ("attendance_rate", "task_completion_rate", "item_mean[trust]"):
        replayed = json.loads(explain(published_id, out, quarter="2026-Q3", fmt="json"))
        live = json.loads(explain(published_id, example_run.folder.parent.parent, quarter="2026-Q3", fmt="json"))
        assert replayed["lineage"] == "replay" and live["lineage"] == "live"
        for key in ("included", "excluded"):
            assert replayed[key] == live[key], (published_id, key)
        assert {k: v for k, v in replayed["published"].items() if k != "run_id"} == \
            {k: v for k, v in live["published"].items() if k != "run_id"}
        assert replayed["included"], published_id
    # the same folder built again with lineage: the tables are back, explain is live
    full = lean.with_overrides(output={"lineage": True, "pdf": False})
    run_quarterly(full, quarter="2026-Q3", out=out, write_back=False)
    assert "metric_lineage" in _tables(db, "lineage")
    # and without again: no stale lineage of the earlier build is left
    run_quarterly(lean, quarter="2026-Q3", out=out, write_back=False)
    assert _tables(db, "lineage") == set()
    assert result.folder.is_dir()


def test_the_lineage_families_are_views_and_an_older_databases_tables_are_replaced(example_run, tmp_path):
    """Family models with a '-- materialize: view' line (attendance.sql, ...) are views that only
    metric_lineage.sql reads, so their rows are stored once, in lineage.metric_lineage; each reads
    from a plain connection to the file (no function of the build's own). A database an earlier
    version built, with those families as tables, is rebuilt without error and explains the same
    rows."""
    import shutil

    from coalition_metrics.transform import VIEW_MARK, model_files

    viewed = {name for name, path in model_files() if VIEW_MARK.search(path.read_text())}
    assert viewed == {f"lineage.{f}" for f in ("attendance", "engagement", "survey", "scales")}
    out = example_run.folder.parent.parent
    db = out / "coalition.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        views = {f"lineage.{v}" for (v,) in con.execute(
            "select view_name from duckdb_views() where schema_name = 'lineage'").fetchall()}
        rows = con.execute("select count(*) from lineage.metric_lineage").fetchone()[0]
        read = {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in sorted(views)}
    finally:
        con.close()
    assert views == viewed and rows > 50_000
    assert read["lineage.attendance"] > 10_000 and read["lineage.survey"] > 10_000
    assert _tables(db, "lineage") == {"metric_lineage", "attendance_rows", "survey_rows", "quarantined", "meetings",
                                      "tasks", "goals", "milestones"}
    older = tmp_path / "older"
    shutil.copytree(out, older)
    con = duckdb.connect(str(older / "coalition.duckdb"))
    try:
        for name in sorted(viewed):  # as an earlier version left them: tables
            con.execute(f"drop view {name}")
            con.execute(f"create table {name} as select 1 as sheet_row")
    finally:
        con.close()
    assert viewed <= {f"lineage.{t}" for t in _tables(older / "coalition.duckdb", "lineage")}
    full = load_settings(None, environ={}).with_overrides(output={"lineage": True, "pdf": False})
    run_quarterly(full, quarter="2026-Q3", out=older, write_back=False)
    assert _tables(older / "coalition.duckdb", "lineage") == _tables(db, "lineage")
    for published_id in ("attendance_rate", "task_completion_rate", "item_mean[trust]"):
        rebuilt = json.loads(explain(published_id, older, quarter="2026-Q3", fmt="json"))
        live = json.loads(explain(published_id, out, quarter="2026-Q3", fmt="json"))
        for key in ("included", "excluded"):
            assert rebuilt[key] == live[key], (published_id, key)


def test_a_coalition_above_the_lineage_limit_is_built_without_it_and_says_so(example_run, tmp_path, capsys):
    """[output] lineage_max_row_quarters: the listings grow with sheet rows x quarters (1.3 million
    attendance rows over 80 quarters took 9 minutes and 19 GiB), so a run above the limit builds its
    figures alone, says why (the rows, the quarters, the limit), and explain replays it. The
    example's 1,660 sheet rows (its tabs' records) over 8 quarters are 13,280 row-quarters: under a
    limit of 13,280 it is built with its lineage, over one of 13,279 without."""
    from coalition_metrics.cli import _print_run

    out = tmp_path / "out"
    base = load_settings(None, environ={}).with_overrides(output={"pdf": False})
    at_limit = run_quarterly(base.with_overrides(output={"lineage_max_row_quarters": 13_280, "pdf": False}),
                             quarter="2026-Q3", out=out, write_back=False)
    assert at_limit.notes == [] and "metric_lineage" in _tables(out / "coalition.duckdb", "lineage")
    over = run_quarterly(base.with_overrides(output={"lineage_max_row_quarters": 13_279, "pdf": False}),
                         quarter="2026-Q3", out=out, write_back=False)
    assert _tables(out / "coalition.duckdb", "lineage") == set()
    assert over.notes == [
        "explain's row listings (lineage) were not built: 1,660 sheet rows x 8 quarters = 13,280 is above "
        "[output] lineage_max_row_quarters (13,279). `coalition explain` lists a figure's rows by replaying "
        "this run when asked, which takes as long as the listings would have; lineage_max_row_quarters = 0 "
        "builds them with every run."]
    _print_run(over)
    assert "  note: explain's row listings (lineage) were not built: 1,660 sheet rows" in capsys.readouterr().out
    replayed = json.loads(explain("attendance_rate[weekly_call]", out, quarter="2026-Q2", fmt="json"))
    live = json.loads(explain("attendance_rate[weekly_call]", example_run.folder.parent.parent, quarter="2026-Q2",
                              fmt="json"))
    assert replayed["lineage"] == "replay" and replayed["included"]
    assert "above [output] lineage_max_row_quarters" in replayed["lineage_note"]
    assert (replayed["included"], replayed["excluded"]) == (live["included"], live["excluded"])
    # 0: no limit; [output] lineage = false still builds none, and says nothing (it was asked)
    unlimited = run_quarterly(base.with_overrides(output={"lineage_max_row_quarters": 0, "pdf": False}),
                              quarter="2026-Q3", out=out, write_back=False)
    assert unlimited.notes == [] and "metric_lineage" in _tables(out / "coalition.duckdb", "lineage")
    off = run_quarterly(base.with_overrides(output={"lineage": False, "lineage_max_row_quarters": 1, "pdf": False}),
                        quarter="2026-Q3", out=out, write_back=False)
    assert off.notes == [] and _tables(out / "coalition.duckdb", "lineage") == set()


def test_the_lineage_limit_is_a_count_of_zero_or_more():
    import pytest

    from coalition_metrics.errors import ConfigError

    assert load_settings(None, environ={}).lineage_max_row_quarters == 1_000_000
    env = {"COALITION_OUTPUT_LINEAGE_MAX_ROW_QUARTERS": "250000"}
    assert load_settings(None, environ=env).lineage_max_row_quarters == 250_000
    with pytest.raises(ConfigError, match=r"\[output\] lineage_max_row_quarters must be 0 \(no limit\) or more, not -1"):
        load_settings(None, environ={"COALITION_OUTPUT_LINEAGE_MAX_ROW_QUARTERS": "-1"})
    with pytest.raises(ConfigError, match="lineage_max_row_quarters must be int"):
        load_settings(None, environ={}).with_overrides(output={"lineage_max_row_quarters": "many"})
