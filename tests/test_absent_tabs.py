"""An optional tab (tasks, milestones, goals) absent from the sheet: the metrics resting on it are
published as "no data" (docs/data-contract.md), never as a count of 0 or a flag "no" (which the
pitfall watch would read as "act: no early quick win"); the same tab present with only its header
row is a real zero. Worked on the small coalition of tests/bad_inputs/base."""

from __future__ import annotations

import shutil

import pytest
from datetime import date
from pathlib import Path

from coalition_metrics.config import load_settings
from coalition_metrics.load import connect, load_reference_tables, load_snapshot_tables
from coalition_metrics.pipeline import extract, first_quarter
from coalition_metrics.quarters import Quarter
from coalition_metrics.snapshot import take_snapshot
from coalition_metrics.transform import run_models
from coalition_metrics.validate import validate_snapshot

BASE = Path(__file__).parent / "bad_inputs" / "base"
TODAY = date(2026, 11, 24)
FROM_TASKS = ("overdue_open", "raci_gaps", "task_completion_rate", "goal_focus_share")
FROM_MILESTONES = ("milestones", "milestones[quick_win]", "quick_win_in_first_quarter")
FROM_GOALS = ("goals_on_track",)


def published(tmp_path, *, remove=(), header_only=()) -> dict[str, tuple]:
    sheet = tmp_path / "sheet"
    shutil.copytree(BASE, sheet)
    for tab in remove:
        (sheet / f"{tab}.csv").unlink()
    for tab in header_only:
        path = sheet / f"{tab}.csv"
        path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    s = load_settings(None, environ={}).with_overrides(source={"location": str(sheet)})
    con = built(tmp_path, s)
    try:
        rows = con.execute("select published_id, value, n from marts.published_metrics where quarter = '2026-Q3'"
                           ).fetchall()
    finally:
        con.close()
    return {pid: (value, n) for pid, value, n in rows}


def built(tmp_path, s):
    """An open connection to a database built from ``s``'s source for 2026-Q3 (load, then run_models)."""
    snap = take_snapshot(extract(s), tmp_path / "snapshots", TODAY)
    validation = validate_snapshot(snap.tabs, s, TODAY)
    quarter = Quarter.parse("2026-Q3")
    con = connect(tmp_path / "db.duckdb")
    load_snapshot_tables(con, snap, validation, s)
    load_reference_tables(con, s, quarter, quarter.end, first_quarter(validation, s))
    run_models(con, s)
    return con


def test_absent_optional_tabs_publish_no_data_not_zero(tmp_path):
    got = published(tmp_path, remove=("tasks", "milestones", "goals", "goal_measurements"))
    for pid in FROM_TASKS + FROM_MILESTONES + FROM_GOALS:
        assert got[pid][0] is None, (pid, got[pid])
    assert got["meetings_held"][0] > 0  # the required tabs still give their figures


def test_optional_tabs_present_but_empty_are_real_zeros(tmp_path):
    got = published(tmp_path, header_only=("tasks", "milestones"))
    assert got["overdue_open"][0] == 0 and got["raci_gaps"][0] == 0
    assert got["milestones"][0] == 0 and got["milestones[quick_win]"][0] == 0
    assert got["quick_win_in_first_quarter"][0] == 0  # a kept milestones tab with no quick win: "no"
    assert got["task_completion_rate"][0] is None  # no task due: a zero denominator


def test_the_base_coalition_with_every_tab_has_the_figures(tmp_path):
    got = published(tmp_path)
    assert got["raci_gaps"][0] is not None and got["milestones"][0] is not None
    assert got["quick_win_in_first_quarter"][0] == 1  # base: a quick win on 2026-03-10


def test_a_model_that_fails_leaves_the_last_build_as_it_was(tmp_path, monkeypatch):
    """run_models builds every table in one transaction: when a model fails part-way, the error names
    its file and the database keeps the previous build's tables, never half of a new one."""
    import coalition_metrics.transform as transform

    s = load_settings(None, environ={})
    con = built(tmp_path, s)
    try:
        before = con.execute("select * from marts.published_metrics order by all").fetchall()
        con.execute("update raw.attendance set status = 'absent'")  # the next build would change figures
        con.execute("update parsed.attendance set status = 'absent'")
        broken = tmp_path / "zz_broken.sql"
        broken.write_text("select no_such_column from marts.published_metrics")
        real = transform.model_files(transform.LAYERS)
        at = [name for name, _ in real].index("marts.published_metrics") + 1
        monkeypatch.setattr(transform, "model_files",
                            lambda layers=transform.LAYERS: real[:at] + [("marts.zz_broken", broken)] + real[at:])
        with pytest.raises(RuntimeError, match="zz_broken.sql failed"):
            run_models(con, s)
        after = con.execute("select * from marts.published_metrics order by all").fetchall()
        tables = {t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'")
                  .fetchall()}
    finally:
        con.close()
    assert len(before) > 100 and after == before
    assert "zz_broken" not in tables
