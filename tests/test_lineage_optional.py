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
