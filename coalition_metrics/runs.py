"""The runs table in coalition.duckdb: one row per run (running, succeeded or failed), written as
the run goes, and read back by `coalition runs` and by a resume (--from-snapshot RUN_ID)."""

from __future__ import annotations

import json
import os
import re
from contextlib import nullcontext
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import SnapshotError
from .plan import DB_NAME, RunPlan
from .quarters import Quarter
from .runlock import database_error, open_db, run_lock
from .transaction import one_commit


def record_run(plan: RunPlan, status: str, snapshot_id: str | None = None, folder: Path | None = None,
               message: str = "", con=None) -> None:
    """Insert or update the run's row in the runs table: through ``con`` when given (a connection
    whose default catalog is the run's database, runlock.attached_db's), else a connection opened
    for it."""
    with run_lock(plan), (nullcontext(con) if con is not None else open_db(plan)) as con, one_commit(con):
        con.execute("delete from runs where run_id = ?", [plan.run_id])
        con.execute(
            """insert into runs (run_id, flow, quarter, as_of, started_at, finished_at, status, snapshot_id,
                                 output_folder, message, pid) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [plan.run_id, plan.flow, plan.quarter.label, plan.as_of, plan.started_at.replace(tzinfo=None),
             None if status == "running" else datetime.now(timezone.utc).replace(tzinfo=None),
             status, snapshot_id, str(folder) if folder else None, message[:2000], os.getpid()],
        )


def keep_published_metrics(con, run_id: str, coalition_id: str) -> None:
    """Keep the figures a run is about to publish (coalition ``coalition_id``'s rows of
    marts.published_metrics, without the column) under its run id, so `coalition explain` shows
    what a succeeded run published, not what a later run that failed left in the marts."""
    with one_commit(con):
        con.execute("""create table if not exists run_metrics as
                       select ''::varchar as run_id, * exclude (coalition_id) from marts.published_metrics limit 0""")
        con.execute("delete from run_metrics where run_id = ?", [run_id])
        con.execute("""insert into run_metrics by name
                       select ? as run_id, * exclude (coalition_id) from marts.published_metrics
                       where coalition_id = ?""", [run_id, coalition_id])


REF_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
MIN_PREFIX = 8


def snapshot_for(ref: str | None, plan: RunPlan) -> str:
    """The snapshot id that ``--from-snapshot REF`` names: a run id (published, or recorded in the
    runs table, e.g. a run that stopped after its snapshot), a snapshot id, or a unique prefix of
    at least 8 characters of either. Nothing else: no paths, wildcards or empty values."""
    usage = ("--from-snapshot takes a run id (as `coalition runs` lists it, e.g. 20261124T054918364Z-8c1f), "
             "a snapshot id (64 hex characters) or a unique prefix of at least 8 characters of one")
    ref = _checked_ref(ref, usage)
    runs = _run_snapshots(plan)
    snapshots = _snapshot_ids(plan)
    if ref in runs:
        return runs[ref]
    if ref in snapshots:
        return ref
    if len(ref) < MIN_PREFIX:
        raise SnapshotError(f"{usage}; no run or snapshot is called {ref!r}, and a prefix needs at least "
                            f"{MIN_PREFIX} characters.")
    matches = {f"run {r}": s for r, s in runs.items() if r.startswith(ref)}
    matches.update({f"snapshot {s}": s for s in snapshots if s.startswith(ref)})
    if len(set(matches.values())) == 1:
        return next(iter(matches.values()))
    if matches:
        raise SnapshotError(f"--from-snapshot {ref} is ambiguous: it starts {', '.join(sorted(matches))}. "
                            f"Give more characters.")
    raise SnapshotError(
        f"No run or snapshot '{ref}' under {plan.out_dir}. Pass a run id from `coalition runs` (or a "
        f"run folder's name) or a snapshot id, and the same --out."
    )


def _checked_ref(ref: str | None, usage: str) -> str:
    """A run or snapshot reference as a person typed it, refused unless it has the shape of an id."""
    ref = (ref or "").strip()
    if not ref:
        raise SnapshotError(f"{usage}; it was empty.")
    if not REF_SHAPE.fullmatch(ref):
        raise SnapshotError(f"{usage}; {ref!r} is not one (letters, digits and '-' only: no paths or wildcards).")
    return ref


def published_run_for(ref: str | None, out_dir: Path, command: str) -> Path:
    """The published folder of the run ``ref`` names, by the rule --from-snapshot follows: its run id
    or a unique prefix of at least 8 characters of one. A run that did not publish (failed, still
    running) or that no run is called is refused with what the runs table says about it."""
    out_dir = Path(out_dir)
    usage = (f"{command} takes a published run's id (as `coalition runs` lists it, e.g. "
             f"20261124T054918364Z-8c1f) or a unique prefix of at least 8 characters of one")
    ref = _checked_ref(ref, usage)
    folders = {m.parent.name: m.parent for m in _published_manifests(out_dir)}
    if ref in folders:
        return folders[ref]
    matches = sorted(r for r in folders if r.startswith(ref)) if len(ref) >= MIN_PREFIX else []
    if len(matches) == 1:
        return folders[matches[0]]
    if matches:
        raise SnapshotError(f"{command} {ref} is ambiguous: it starts runs {', '.join(matches)}. Give more characters.")
    raise SnapshotError(_not_published(ref, out_dir, command))


def _not_published(ref: str, out_dir: Path, command: str) -> str:
    """Why ``ref`` names no published run under ``out_dir``, from the runs table when it knows."""
    with read_only_db(out_dir) as con:
        rows = [] if con is None else con.execute(
            """select run_id, status, message, output_folder, flow from runs
               where run_id = ? or (length(?) >= ? and starts_with(run_id, ?)) order by run_id""",
            [ref, ref, MIN_PREFIX, ref]).fetchall()
    if len(rows) == 1:
        run_id, status, message, folder, flow = rows[0]
        why = (message or "").splitlines()[0] if message else ""
        if flow == "audit-satisfaction":
            return (f"Run {run_id} is a satisfaction audit ({folder or 'no folder'}): it publishes an audit pack, "
                    f"not the quarter's figures, so {command} cannot use it. Give a quarterly or refresh run "
                    f"from `coalition runs`.")
        if status == "failed":
            return (f"Run {run_id} failed ({why or 'no message recorded'}) and published nothing, so there is "
                    f"nothing to {command.split()[-1]}: only a published run can be. `coalition runs` lists the runs.")
        if status == "running":
            return (f"Run {run_id} has not published (it is recorded as running, or was interrupted); only a "
                    f"published run can be used with {command}. `coalition runs` lists the runs.")
        return (f"Run {run_id} is recorded as {status}, but its run folder {folder or '(none)'} is not under "
                f"{out_dir} any more (moved or deleted); {command} needs the published folder and its manifest.")
    return (f"No published run '{ref}' under {out_dir}. Pass a run id from `coalition runs` (or a run folder's "
            f"name) and the same --out as the run.")


class read_only_db:
    """A read-only DuckDB connection to ``<out>/coalition.duckdb`` (None when there is none), for
    readers that must not change it; a database a run holds, or a damaged one, is one paragraph."""

    def __init__(self, out_dir: Path):
        self.db = Path(out_dir) / DB_NAME
        self.con = None

    def __enter__(self):
        import duckdb

        if not self.db.is_file():
            return None
        try:
            self.con = duckdb.connect(str(self.db), read_only=True)
        except duckdb.Error as exc:
            raise database_error(exc, self.db) from None
        return self.con

    def __exit__(self, exc_type, exc, tb):
        if self.con is not None:
            self.con.close()
        if exc is not None and isinstance(exc, Exception):
            err = database_error(exc, self.db)
            if err is not exc:
                raise err from None
        return False


def _run_snapshots(plan: RunPlan) -> dict[str, str]:
    """run id -> snapshot id, from the published manifests and the runs table."""
    found: dict[str, str] = {}
    if plan.db_path.is_file():
        with run_lock(plan), open_db(plan) as con:
            rows = con.execute("select run_id, snapshot_id from runs where snapshot_id is not null").fetchall()
        found.update(dict(rows))
    for manifest in _published_manifests(plan.out_dir):
        try:
            found[manifest.parent.name] = json.loads(manifest.read_text(encoding="utf-8"))["snapshot"]["id"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an unreadable manifest names no snapshot; the runs table may still
    return found


def _published_manifests(out_dir: Path):
    """<out>/<quarter>/<run>/manifest.json and <out>/refresh/<quarter>/<run>/manifest.json."""
    def runs_in(folder: Path):
        for quarter in _subfolders(folder):
            for run in _subfolders(quarter):
                if (run / "manifest.json").is_file():
                    yield run / "manifest.json"

    yield from runs_in(out_dir)
    yield from runs_in(out_dir / "refresh")


def published_run_folder(out_dir: Path, run_id: str) -> Path | None:
    """The published folder of run ``run_id`` (a quarterly run or a refresh) under ``out_dir``."""
    for manifest in _published_manifests(Path(out_dir)):
        if manifest.parent.name == run_id:
            return manifest.parent
    return None


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def _snapshot_ids(plan: RunPlan) -> list[str]:
    return [p.name for p in _subfolders(plan.snapshots_dir) if re.fullmatch(r"[0-9a-f]{64}", p.name)]


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
                      output_folder, message, pid, write_back, write_back_at, write_back_message
               from runs order by started_at desc, run_id desc"""
        ).fetchall()
    cols = ("run_id", "flow", "quarter", "as_of", "started_at", "finished_at", "status", "snapshot_id",
            "output_folder", "message", "pid", "write_back", "write_back_at", "write_back_message")
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
