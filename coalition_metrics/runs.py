"""The runs table in coalition.duckdb: one row per run (running, succeeded or failed), written as
the run goes, and read back by `coalition runs` and by a resume (--from-snapshot RUN_ID)."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from .config import Settings
from .plan import DB_NAME, RunPlan
from .quarters import Quarter
from .runlock import open_db, run_lock


def record_run(plan: RunPlan, status: str, snapshot_id: str | None = None, folder: Path | None = None,
               message: str = "") -> None:
    """Insert or update the run's row in the runs table."""
    with run_lock(plan), open_db(plan) as con:
        con.execute("delete from runs where run_id = ?", [plan.run_id])
        con.execute(
            """insert into runs (run_id, flow, quarter, as_of, started_at, finished_at, status, snapshot_id,
                                 output_folder, message, pid) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [plan.run_id, plan.flow, plan.quarter.label, plan.as_of, plan.started_at.replace(tzinfo=None),
             None if status == "running" else datetime.now(timezone.utc).replace(tzinfo=None),
             status, snapshot_id, str(folder) if folder else None, message[:2000], os.getpid()],
        )


def snapshot_of_run(plan: RunPlan, run_id: str) -> str | None:
    if not plan.db_path.is_file():
        return None
    with run_lock(plan), open_db(plan) as con:
        row = con.execute("select snapshot_id from runs where run_id = ?", [run_id]).fetchone()
    return row[0] if row else None


def list_runs(out_dir: Path, settings: Settings) -> list[dict[str, Any]]:
    """Every run in the output folder's runs table, newest first. A run recorded as running whose
    process is gone is shown as interrupted (resume it with --from-snapshot RUN_ID)."""
    out_dir = Path(out_dir).resolve()
    if not (out_dir / DB_NAME).is_file():
        return []
    plan = RunPlan(settings, "runs", Quarter.of(date.today()), date.today(), out_dir, flow="runs")
    with run_lock(plan), open_db(plan) as con:
        rows = con.execute(
            """select run_id, flow, quarter, as_of, started_at, finished_at, status, snapshot_id,
                      output_folder, message, pid from runs order by started_at desc, run_id desc"""
        ).fetchall()
    cols = ("run_id", "flow", "quarter", "as_of", "started_at", "finished_at", "status", "snapshot_id",
            "output_folder", "message", "pid")
    runs = [dict(zip(cols, r)) for r in rows]
    for r in runs:
        if r["status"] == "running" and r["pid"] and not _alive(r["pid"]):
            r["status"] = "interrupted"
    return runs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
