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
