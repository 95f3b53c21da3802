"""goal_focus_share (the mission-creep signal) and goal_tied_tasks: worked by hand on the small
coalition of tests/bad_inputs/base (5 tasks, all due in 2026-Q3: T1 Referrals, T2 Outreach,
T3 Events, T4 Data, T5 Admin; goals G1..G5), and on the bundled example."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from coalition_metrics.config import load_settings
from coalition_metrics.load import connect, load_reference_tables, load_snapshot_tables
from coalition_metrics.pipeline import extract, first_quarter
from coalition_metrics.quarters import Quarter
from coalition_metrics.snapshot import take_snapshot
from coalition_metrics.transform import run_models
from coalition_metrics.validate import validate_snapshot
from conftest import EXAMPLE_CSV

BASE = Path(__file__).parent / "bad_inputs" / "base"
TODAY = date(2026, 11, 24)


def figures(tmp_path, goal_ids: list[str] | None = None, workstreams: dict | None = None,
            workstream_cells: dict[str, str] | None = None) -> dict[tuple[str, str], tuple]:
    """Build the marts for the base coalition with a goal_id column (one cell per task, T1..T5)
    and/or a [workstreams] mapping; {(metric_id, quarter): (value, n)} of goal_focus_share and
    goal_tied_tasks, as published."""
    sheet = tmp_path / "sheet"
    shutil.copytree(BASE, sheet)
    rows = list(csv.reader(io.StringIO((BASE / "tasks.csv").read_text(encoding="utf-8"))))
    if goal_ids is not None:
        rows[0].append("goal_id")
        for row, goal in zip(rows[1:], goal_ids):
            row.append(goal)
    for task_id, text in (workstream_cells or {}).items():
        row = next(r for r in rows if r[0] == task_id)
        row[rows[0].index("workstream")] = text
    with (sheet / "tasks.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    s = load_settings(None, environ={}).with_overrides(source={"location": str(sheet)},
                                                       workstreams=workstreams or {})
    snap = take_snapshot(extract(s), tmp_path / "snapshots", TODAY)
    validation = validate_snapshot(snap.tabs, s, TODAY)
    assert validation.quarantined == []
    quarter = Quarter.parse("2026-Q3")
    con = connect(tmp_path / "db.duckdb")
    try:
        load_snapshot_tables(con, snap, validation, s)
        load_reference_tables(con, s, quarter, quarter.end, first_quarter(validation, s))
        run_models(con, s)
        got = con.execute(
            """select metric_id, quarter, value, n from marts.published_metrics
               where metric_id in ('goal_focus_share', 'goal_tied_tasks')""").fetchall()
    finally:
        con.close()
    return {(m, q): (v, n) for m, q, v, n in got}


def test_goal_id_alone(tmp_path):
    # T1 G1, T4 G2 tied; T2, T3, T5 blank: 2 of the 5 tasks due in 2026-Q3.
    got = figures(tmp_path, goal_ids=["G1", "", "", "G2", ""])
    assert got[("goal_focus_share", "2026-Q3")] == (pytest.approx(2 / 5), 5)
    assert got[("goal_tied_tasks", "2026-Q3")] == (2.0, 5)


def test_goal_id_wins_over_the_workstream_mapping(tmp_path):
    # Events -> "" (tied to no goal) but T3 (Events) has its own goal_id G3: tied. Referrals -> G1
    # ties T1; T2 Outreach, T4 Data, T5 Admin are not listed: untied. 2 of 5.
    got = figures(tmp_path, goal_ids=["", "", "G3", "", ""], workstreams={"Events": "", "referrals": "G1"})
    assert got[("goal_focus_share", "2026-Q3")] == (pytest.approx(2 / 5), 5)
    assert got[("goal_tied_tasks", "2026-Q3")] == (2.0, 5)


def test_workstream_mapping_alone_matched_like_enumerations(tmp_path):
    # " OUTREACH " in the sheet matches "Outreach" in the config and "Member_list  upkeep" matches
    # "member-list upkeep" (else the run would stop: no task would have it); Data -> G2;
    # member-list upkeep -> "" (untied); T1 Referrals and T3 Events are unmapped: T2 and T4 tied, 2 of 5.
    got = figures(tmp_path, workstreams={"Outreach": "G1", "Data": "G2", "member-list upkeep": ""},
                  workstream_cells={"T2": " OUTREACH ", "T5": "Member_list  upkeep"})
    assert got[("goal_focus_share", "2026-Q3")] == (pytest.approx(2 / 5), 5)


def test_blank_workstream_is_tied_to_no_goal(tmp_path):
    # T2's workstream is blank (and [workstreams] cannot name a blank workstream); Referrals -> G1
    # ties T1 only: 1 of 5.
    got = figures(tmp_path, workstreams={"Referrals": "G1"}, workstream_cells={"T2": "  "})
    assert got[("goal_focus_share", "2026-Q3")] == (pytest.approx(1 / 5), 5)
    assert got[("goal_tied_tasks", "2026-Q3")] == (1.0, 5)


def test_a_mapping_that_ties_nothing_is_a_real_zero(tmp_path):
    # [workstreams] says Admin serves no goal: a declaration, so 0 of 5 is 0%, not "no data".
    got = figures(tmp_path, workstreams={"Admin": ""})
    assert got[("goal_focus_share", "2026-Q3")] == (0.0, 5)
    assert got[("goal_tied_tasks", "2026-Q3")] == (0.0, 5)


def test_no_tie_declared_is_no_data_not_zero(tmp_path):
    # no goal_id column, no [workstreams]: unknown. n still counts the 5 tasks due, so the "no
    # data" reads as "tasks were due, but nothing says which serve a goal".
    got = figures(tmp_path)
    assert got[("goal_focus_share", "2026-Q3")] == (None, 5)
    assert got[("goal_tied_tasks", "2026-Q3")] == (None, 5)
    # a goal_id column that is blank throughout declares nothing either
    got = figures(tmp_path / "blank", goal_ids=["", "", "", "", ""])
    assert got[("goal_focus_share", "2026-Q3")] == (None, 5)


def test_a_quarter_with_no_task_due_is_no_data(tmp_path):
    # The members joined in 2026-Q1; no task is due before July: 2026-Q1 and Q2 have no data (n 0),
    # while the tied count is a true 0.
    got = figures(tmp_path, goal_ids=["G1", "", "", "", ""])
    for q in ("2026-Q1", "2026-Q2"):
        assert got[("goal_focus_share", q)] == (None, 0)
        assert got[("goal_tied_tasks", q)] == (0.0, 0)
    assert got[("goal_focus_share", "2026-Q3")] == (pytest.approx(1 / 5), 5)


def test_example_2026_q3_worked_by_hand(example_run):
    """2026-Q3 of the bundled example, from examples/riverside/csv/tasks.csv: the tasks due from
    7/1/2026 to 9/30/2026 are T058..T066 (9 tasks, as task_completion_rate counts them). Their
    goal_id cells: T058 G1 (Policy: map referral pathways), T059 -, T060 G2 (Policy), T061 -,
    T062 G2 (Policy), T063 G1 (Policy: map referral pathways), T064 G1 (Referrals), T065 -,
    T066 - : 5 tied, goal_focus_share = 5 / 9 = 0.556. The default config has no [workstreams]."""
    metrics = {r["metric_id"]: r for r in example_run.manifest["metrics"]}
    assert metrics["goal_focus_share"]["n"] == 9
    assert metrics["goal_focus_share"]["value"] == round(5 / 9, 4)  # funder figures carry 4 decimals
    assert "goal_tied_tasks" not in metrics  # a coordinator figure: in the report, not the funder files
    con = duckdb.connect(str(example_run.folder.parent.parent / "coalition.duckdb"), read_only=True)
    try:
        tied = con.execute("""select value, n from marts.published_metrics
                              where published_id = 'goal_tied_tasks' and quarter = '2026-Q3'""").fetchone()
    finally:
        con.close()
    assert tied == (5.0, 9)
    rows = list(csv.DictReader((EXAMPLE_CSV / "tasks.csv").open(encoding="utf-8")))
    due = [r for r in rows if r["due_on"].split("/")[0] in ("7", "8", "9") and r["due_on"].endswith("/2026")]
    assert len({r["task_id"] for r in due}) == 9
    assert sorted(r["task_id"] for r in due if r["goal_id"]) == ["T058", "T060", "T062", "T063", "T064"]


def test_workstreams_from_the_config_file_and_not_from_the_environment(tmp_path):
    from coalition_metrics.errors import ConfigError

    (tmp_path / "c.toml").write_text('[workstreams]\n"Data & evaluation" = "G2"\n"Funding" = ""\n', encoding="utf-8")
    s = load_settings(tmp_path / "c.toml", environ={})
    assert s.workstreams == {"Data & evaluation": "G2", "Funding": ""}
    with pytest.raises(ConfigError, match=r"COALITION_WORKSTREAMS_DATA: \[workstreams\] names the coalition's own"):
        load_settings(tmp_path / "c.toml", environ={"COALITION_WORKSTREAMS_DATA": "G1"})
