"""The quarterly run as plain functions, one per stage (extract -> snapshot -> validate -> load ->
transform -> render -> publish). flows/quarterly_report.py wraps each in a Prefect task;
``run_quarterly`` calls them in the same order without Prefect.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .config import PROJECT_ROOT, Settings
from .errors import CoalitionError, RunTimedOut, SnapshotError
from .quarters import Quarter, last_completed
from .snapshot import Snapshot, load_snapshot, take_snapshot
from .sources import RawTab, open_source
from .validate import ValidationResult, validate_snapshot

DB_NAME = "coalition.duckdb"
LOCK_NAME = ".coalition.lock"
QUARTERLY_FLOW = "quarterly-report"
REFRESH_FLOW = "refresh-funder-metrics"


@dataclass
class RunPlan:
    settings: Settings
    run_id: str
    quarter: Quarter
    as_of: date
    out_dir: Path
    flow: str = "quarterly-report"
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def db_path(self) -> Path:
        return self.out_dir / DB_NAME

    @property
    def snapshots_dir(self) -> Path:
        return self.out_dir / "snapshots"

    @property
    def publish_dir(self) -> Path:
        """Quarterly runs publish under <out>/<quarter>/, refreshes under <out>/refresh/<quarter>/."""
        if self.flow == REFRESH_FLOW:
            return self.out_dir / "refresh" / self.quarter.label
        return self.out_dir / self.quarter.label


@dataclass
class RunResult:
    run_id: str
    quarter: str
    folder: Path
    report: Path
    manifest: dict[str, Any]


# ---------------------------------------------------------------------------------------------
def plan_run(settings: Settings, quarter: str | None = None, today: date | None = None,
             out: str | Path | None = None, flow: str = QUARTERLY_FLOW) -> RunPlan:
    """Choose the quarter (default: the last completed one) and a new run id."""
    fs = settings.fiscal_year_start_month
    today = today or date.today()
    if quarter:
        try:
            q = Quarter.parse(quarter, fs)
        except ValueError as exc:
            raise CoalitionError(f"--quarter {exc}") from None
    else:
        q = last_completed(today, fs)
    if q.start > today:
        raise CoalitionError(f"Quarter {q} has not started yet (today is {today}); pick {last_completed(today, fs)} or earlier.")
    as_of = min(q.end, today)
    now = datetime.now(timezone.utc)
    # Sortable by start time; the random tail keeps two runs started in the same millisecond apart.
    run_id = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-{secrets.token_hex(2)}"
    out_dir = Path(out) if out else settings.output_folder
    return RunPlan(settings, run_id, q, as_of, out_dir.resolve(), flow, now)


def plan_refresh(settings: Settings, as_of: date | str | None = None, today: date | None = None,
                 out: str | Path | None = None) -> RunPlan:
    """A refresh covers the quarter of ``as_of`` (default today) up to as_of."""
    today = today or date.today()
    if isinstance(as_of, str):
        try:
            as_of = date.fromisoformat(as_of)
        except ValueError:
            raise CoalitionError(f"--as-of {as_of!r} is not a date; write it as YYYY-MM-DD.") from None
    as_of = as_of or today
    if as_of > today:
        raise CoalitionError(f"--as-of {as_of} is in the future (today is {today}); figures can only be as of today or earlier.")
    return plan_run(settings, Quarter.of(as_of, settings.fiscal_year_start_month).label, today=as_of, out=out,
                    flow=REFRESH_FLOW)


def with_source(settings: Settings, source: str | None) -> Settings:
    """Settings with ``--source`` (a CSV folder, .xlsx path or Google Sheets URL/key) in place."""
    if not source:
        return settings
    from .sources import looks_like_google_sheet

    location = source if looks_like_google_sheet(source) else str(Path(source).resolve())
    return settings.with_overrides(source={"location": location})


def extract(settings: Settings) -> dict[str, RawTab]:
    return open_source(settings.source_location, settings).read_tabs(settings.tabs)


def snapshot(tabs: dict[str, RawTab], plan: RunPlan) -> Snapshot:
    return take_snapshot(tabs, plan.snapshots_dir)


def replay(run_or_snapshot: str, plan: RunPlan) -> Snapshot:
    """The snapshot of an earlier run (by run id) or a snapshot id (or a unique prefix of one)."""
    for manifest in sorted(plan.out_dir.glob(f"*/{run_or_snapshot}/manifest.json")) + sorted(
            plan.out_dir.glob(f"refresh/*/{run_or_snapshot}/manifest.json")):
        snap_id = json.loads(manifest.read_text())["snapshot"]["id"]
        return load_snapshot(snap_id, plan.snapshots_dir)
    snap_id = _snapshot_of_run(plan, run_or_snapshot)  # a run that stopped after its snapshot
    if snap_id:
        return load_snapshot(snap_id, plan.snapshots_dir)
    try:
        return load_snapshot(run_or_snapshot, plan.snapshots_dir)
    except SnapshotError:
        raise SnapshotError(
            f"No run or snapshot '{run_or_snapshot}' under {plan.out_dir}. Pass a run id from "
            f"`coalition runs` (or a run folder's name) or a snapshot id, and the same --out."
        ) from None


def _snapshot_of_run(plan: RunPlan, run_id: str) -> str | None:
    if not plan.db_path.is_file():
        return None
    with run_lock(plan), open_db(plan) as con:
        row = con.execute("select snapshot_id from runs where run_id = ?", [run_id]).fetchone()
    return row[0] if row else None


def validate(snap: Snapshot, settings: Settings) -> ValidationResult:
    """The checks, with "today" the day the snapshot's source was read (a replay checks alike)."""
    return validate_snapshot(snap.tabs, settings, snap.read_on)


def check_source(settings: Settings, source: str | None = None, out: str | Path | None = None,
                 today: date | None = None) -> tuple[Snapshot, ValidationResult]:
    """`coalition validate`: extract, snapshot and validate only; nothing is loaded or published.

    Raises BlockingValidationError (carrying the row-level result when the row checks ran)."""
    settings = with_source(settings, source)
    out_dir = (Path(out) if out else settings.output_folder).resolve()
    snap = take_snapshot(extract(settings), out_dir / "snapshots", today)
    return snap, validate(snap, settings)


def first_quarter(validation: ValidationResult, settings: Settings) -> Quarter:
    """The first quarter with data: the earliest member join or meeting date."""
    candidates = []
    for tab, col in (("members", "joined_on__value"), ("meetings", "date__value")):
        frame = validation.tabs[tab].accepted
        if frame is not None and len(frame):
            candidates += [v for v in frame[col] if v]
    first = min(candidates)
    return Quarter.of(date.fromisoformat(first), settings.fiscal_year_start_month)


def build_database(snap: Snapshot, validation: ValidationResult, plan: RunPlan) -> list[str]:
    """Load raw, quarantine and reference tables, then build staging and marts."""
    from .load import load_reference_tables, load_snapshot_tables
    from .transform import run_models

    first = first_quarter(validation, plan.settings)
    if plan.quarter < first:
        raise CoalitionError(
            f"Quarter {plan.quarter} is before the coalition's data starts ({first}). Pick a quarter "
            f"from {first} on."
        )
    with run_lock(plan), open_db(plan) as con:
        load_snapshot_tables(con, snap, validation, plan.settings)
        load_reference_tables(con, plan.settings, plan.quarter, plan.as_of, first)
        return run_models(con, plan.settings)


class _RunLock:
    def __init__(self, path: Path):
        self.path = path
        self.thread_lock = threading.RLock()
        self.depth = 0
        self.handle = None


_run_locks: dict[str, _RunLock] = {}
_run_locks_guard = threading.Lock()


@contextmanager
def run_lock(plan: RunPlan):
    """Runs take turns with the output folder's database: one writer at a time.

    An exclusive lock on ``<out>/.coalition.lock`` (flock, so a killed run releases it) guards
    everything that writes or reads-then-publishes from coalition.duckdb. It is re-entrant within
    a process. A run waits up to ``[output] lock_timeout_seconds`` and then stops with a message
    naming the run that holds it; extract, snapshot and validate need no lock and run in parallel.
    """
    import fcntl

    path = plan.out_dir / LOCK_NAME
    with _run_locks_guard:
        lock = _run_locks.setdefault(str(path), _RunLock(path))
    timeout = float(plan.settings.data["output"]["lock_timeout_seconds"])
    deadline = time.monotonic() + timeout
    if not lock.thread_lock.acquire(timeout=max(timeout, 0.001)):
        raise _busy(plan, path)
    try:
        if lock.depth == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a+")
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.close()
                        raise _busy(plan, path) from None
                    time.sleep(0.1)
            handle.seek(0)
            handle.truncate()
            handle.write(f"run {plan.run_id} ({plan.flow} {plan.quarter.label}, pid {os.getpid()})\n")
            handle.flush()
            lock.handle = handle
        lock.depth += 1
        try:
            yield
        finally:
            lock.depth -= 1
            if lock.depth == 0 and lock.handle is not None:
                fcntl.flock(lock.handle, fcntl.LOCK_UN)
                lock.handle.close()
                lock.handle = None
    finally:
        lock.thread_lock.release()


def _busy(plan: RunPlan, path: Path) -> CoalitionError:
    try:
        holder = path.read_text().strip() or "another run"
    except OSError:
        holder = "another run"
    return CoalitionError(
        f"The output folder {plan.out_dir} is busy: {holder} is using its database, and this run "
        f"({plan.run_id}) waited {plan.settings.data['output']['lock_timeout_seconds']:.0f} s "
        f"([output] lock_timeout_seconds). Nothing was published by this run; run it again when the "
        f"other has finished (`coalition runs`), or use another --out."
    )


class open_db:
    """A DuckDB connection to the run's database, with a clear error when another run holds it."""

    def __init__(self, plan: RunPlan):
        self.plan = plan

    def __enter__(self):
        from .load import connect

        try:
            self.con = connect(self.plan.db_path)
        except Exception as exc:
            if "lock" in str(exc).lower():
                raise CoalitionError(
                    f"The database {self.plan.db_path} is in use by another coalition run. Wait for "
                    f"it to finish (see `coalition runs`) and run again, or use another --out."
                ) from None
            raise
        return self.con

    def __exit__(self, *exc):
        self.con.close()


def render_and_publish(snap: Snapshot, validation: ValidationResult, plan: RunPlan) -> RunResult:
    """Render report and funder files into a new run folder; never overwrite a published one."""
    from . import render
    from .quality import quality_context, quarantine_csv, render_quality_page

    s = plan.settings
    quarantined = [q.as_dict() for q in validation.quarantined]
    with run_lock(plan), open_db(plan) as con:
        records = render.funder_records(con)
        context = render.report_context(
            con, coalition=s.coalition_name, quarter=plan.quarter.label, as_of=plan.as_of.isoformat(),
            run_id=plan.run_id, snapshot_id=snap.snapshot_id, validation_counts=validation.counts(),
            quarantined=quarantined, source=source_description(s),
        )
    html = render.render_report(context)
    quality = render_quality_page(quality_context(
        validation, coalition=s.coalition_name, quarter=plan.quarter.label, run_id=plan.run_id,
        snapshot_id=snap.snapshot_id, source=source_description(s),
        validated_on=validation.validated_on.isoformat() if validation.validated_on else ""))
    manifest = run_manifest(snap, validation, plan, records)
    files = {
        "report.html": html,
        "funder_metrics.json": render.funder_json(records, s.coalition_name, plan.quarter.label),
        "funder_metrics.csv": render.funder_csv(records),
        "validation/index.html": quality,
        "validation/quarantine.csv": quarantine_csv(validation),
        "validation/quarantine.json": json.dumps(quarantined, indent=2, ensure_ascii=False) + "\n",
        "manifest.json": json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
    }
    folder = publish_folder(plan, files)
    return RunResult(plan.run_id, plan.quarter.label, folder, folder / "report.html", manifest)


def run_manifest(snap: Snapshot, validation: ValidationResult, plan: RunPlan, records: list[dict]) -> dict[str, Any]:
    """manifest.json: the run's identity, inputs (snapshot hashes, config hash, code version), row
    counts and the quarter's metric values."""
    s = plan.settings
    return {
        "run_id": plan.run_id,
        "flow": plan.flow,
        "quarter": plan.quarter.label,
        "as_of": plan.as_of.isoformat(),
        "started_at": plan.started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "config_hash": s.config_hash(),
        "source": source_description(s),
        "snapshot": {"id": snap.snapshot_id, "read_on": snap.read_on.isoformat() if snap.read_on else None,
                     "tabs": snap.tab_hashes},
        "row_counts": validation.counts(),
        "quarantined_counts": {t: c["rows_quarantined"] for t, c in validation.counts().items()},
        "metrics": [r for r in records if r["quarter"] == plan.quarter.label],
    }


def publish_folder(plan: RunPlan, files: dict[str, str]) -> Path:
    """Write files to ``<publish_dir>/<run_id>/`` atomically and mark it as the latest run there."""
    quarter_dir = plan.publish_dir
    quarter_dir.mkdir(parents=True, exist_ok=True)
    target = quarter_dir / plan.run_id
    if target.exists():
        raise CoalitionError(f"Run folder {target} already exists; a published run is never overwritten.")
    tmp = Path(tempfile.mkdtemp(prefix=f".partial-{plan.run_id}-", dir=quarter_dir))
    try:
        for rel, text in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.rename(tmp, target)  # fails if target appeared meanwhile: nothing is overwritten
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    latest_tmp = quarter_dir / f".LATEST.{plan.run_id}"
    latest_tmp.write_text(plan.run_id + "\n")
    os.replace(latest_tmp, quarter_dir / "LATEST")
    return target


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


BACKSTOP_GRACE_SECONDS = 120.0


def run_time_limit(settings: Settings) -> float:
    """[orchestration] flow_timeout_seconds: checked between stages (RunRecord.stage)."""
    return float(settings.data["orchestration"]["flow_timeout_seconds"])


def hard_time_limit(settings: Settings) -> float:
    """Prefect's own flow timeout: the run's limit plus a grace period. It only fires for a stage
    that hangs past the limit (RunRecord.stage cannot interrupt a stage), because Prefect enforces
    it by raising into whatever code is running at that instant."""
    return run_time_limit(settings) + BACKSTOP_GRACE_SECONDS


@dataclass
class RunRecord:
    plan: RunPlan
    snapshot_id: str | None = None
    folder: Path | None = None
    started: float = field(default_factory=time.monotonic)

    def stage(self, name: str) -> None:
        """Stop before ``name`` when the run has used up [orchestration] flow_timeout_seconds.

        The limit is checked between stages, at points where stopping is clean (nothing half-written,
        the snapshot kept for a resume); a source that hangs is bounded by its own request timeout
        and retries. Prefect's own flow timeout stays as a backstop a little later
        (hard_time_limit)."""
        limit = run_time_limit(self.plan.settings)
        used = time.monotonic() - self.started
        if used > limit:
            resume = (f"resume from its snapshot with --from-snapshot {self.plan.run_id}" if self.snapshot_id
                      else "it stopped before its snapshot, so run it again")
            raise RunTimedOut(
                f"The {self.plan.flow} run {self.plan.run_id} stopped before {name} after {used:.1f} s: "
                f"its limit is {limit:g} s ([orchestration] flow_timeout_seconds). It was marked failed "
                f"and nothing was published by it. If the source is slow, raise the limit; {resume}."
            )

    def snapshot_taken(self, snap: Snapshot) -> None:
        """Record the snapshot at once, so a run that dies later can be resumed from it."""
        self.snapshot_id = snap.snapshot_id
        record_run(self.plan, "running", snap.snapshot_id)


@contextmanager
def recorded_run(plan: RunPlan):
    """Record the run as running, then as succeeded or failed (with the error) in the runs table."""
    run = RunRecord(plan)
    record_run(plan, "running")
    try:
        yield run
    except BaseException as exc:
        record_run(plan, "failed", run.snapshot_id, message=str(exc))
        raise
    record_run(plan, "succeeded", run.snapshot_id, run.folder)


def source_description(settings: Settings) -> str:
    loc = settings.source_location
    try:
        return str(Path(loc).relative_to(PROJECT_ROOT))
    except ValueError:
        return loc


def code_version() -> str:
    """The package version, plus the git commit when run from a checkout."""
    try:
        sha = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+g{sha}" if sha else __version__


# ---------------------------------------------------------------------------------------------
def run_quarterly(settings: Settings, quarter: str | None = None, source: str | None = None,
                  out: str | Path | None = None, from_snapshot: str | None = None,
                  today: date | None = None) -> RunResult:
    """The whole quarterly run without Prefect: what the flow does, in the same order."""
    settings = with_source(settings, source)
    return run_stages(plan_run(settings, quarter, today, out), render_and_publish, from_snapshot)


def run_refresh(settings: Settings, source: str | None = None, out: str | Path | None = None,
                as_of: date | str | None = None, today: date | None = None) -> RunResult:
    """`refresh-funder-metrics` without Prefect: the current quarter to date, funder files only."""
    settings = with_source(settings, source)
    return run_stages(plan_refresh(settings, as_of, today, out), publish_funder)


@dataclass(frozen=True)
class Stages:
    """The stage functions a run calls: the plain ones here, or the Prefect tasks that wrap them
    (flows.tasks.run_stages), so the order and the checks between stages are written once."""
    extract: Any
    snapshot: Any
    replay: Any
    validate: Any
    build_database: Any


def run_stages(plan: RunPlan, publish, from_snapshot: str | None = None, stages: Stages | None = None) -> RunResult:
    """extract (or replay) -> snapshot -> validate -> load -> transform -> publish, recorded in the
    runs table; ``publish`` is render_and_publish (quarterly) or publish_funder (refresh).

    Between stages the run checks its time limit (RunRecord.stage)."""
    st = stages or Stages(extract, snapshot, replay, validate, build_database)
    settings = plan.settings
    with recorded_run(plan) as run:
        if from_snapshot:
            snap = st.replay(from_snapshot, plan)
        else:
            tabs = st.extract(settings)
            run.stage("snapshot")
            snap = st.snapshot(tabs, plan)
        run.snapshot_taken(snap)
        run.stage("validate")
        validation = st.validate(snap, settings)
        with run_lock(plan):  # build and publish from the same database state
            run.stage("load")
            st.build_database(snap, validation, plan)
            run.stage("publish")
            result = publish(snap, validation, plan)
        run.folder = result.folder
    return result


def publish_funder(snap: Snapshot, validation: ValidationResult, plan: RunPlan) -> RunResult:
    """A refresh publishes the funder files, the quarantine list and a manifest (no report)."""
    from . import render

    s = plan.settings
    with run_lock(plan), open_db(plan) as con:
        records = render.funder_records(con)
    files = {
        "funder_metrics.json": render.funder_json(records, s.coalition_name, plan.quarter.label),
        "funder_metrics.csv": render.funder_csv(records),
        "validation/quarantine.json": json.dumps([q.as_dict() for q in validation.quarantined], indent=2,
                                                 ensure_ascii=False) + "\n",
    }
    manifest = run_manifest(snap, validation, plan, records)
    files["manifest.json"] = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    folder = publish_folder(plan, files)
    return RunResult(plan.run_id, plan.quarter.label, folder, folder / "funder_metrics.csv", manifest)


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
