"""The quarterly run as plain functions, one per stage (extract -> snapshot -> validate -> load ->
transform -> render -> publish). flows/quarterly_report.py wraps each in a Prefect task;
``run_quarterly`` calls them in the same order without Prefect.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .config import PROJECT_ROOT, Settings
from .errors import CoalitionError, SnapshotError
from .quarters import Quarter, last_completed
from .snapshot import Snapshot, load_snapshot, take_snapshot
from .sources import RawTab, open_source
from .validate import ValidationResult, validate_snapshot

DB_NAME = "coalition.duckdb"


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


@dataclass
class RunResult:
    run_id: str
    quarter: str
    folder: Path
    report: Path
    manifest: dict[str, Any]


# ---------------------------------------------------------------------------------------------
def plan_run(settings: Settings, quarter: str | None = None, today: date | None = None,
             out: str | Path | None = None, flow: str = "quarterly-report") -> RunPlan:
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
    run_id = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    out_dir = Path(out) if out else settings.output_folder
    return RunPlan(settings, run_id, q, as_of, out_dir.resolve(), flow, now)


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
    for manifest in sorted(plan.out_dir.glob(f"*/{run_or_snapshot}/manifest.json")):
        snap_id = json.loads(manifest.read_text())["snapshot"]["id"]
        return load_snapshot(snap_id, plan.snapshots_dir)
    try:
        return load_snapshot(run_or_snapshot, plan.snapshots_dir)
    except SnapshotError:
        raise SnapshotError(
            f"No run or snapshot '{run_or_snapshot}' under {plan.out_dir}. Pass a run id from "
            f"`coalition runs` (or a run folder's name) or a snapshot id, and the same --out."
        ) from None


def validate(snap: Snapshot, settings: Settings) -> ValidationResult:
    return validate_snapshot(snap.tabs, settings)


def check_source(settings: Settings, source: str | None = None, out: str | Path | None = None,
                 today: date | None = None) -> tuple[Snapshot, ValidationResult]:
    """`coalition validate`: extract, snapshot and validate only; nothing is loaded or published.

    Raises BlockingValidationError (carrying the row-level result when the row checks ran)."""
    settings = with_source(settings, source)
    out_dir = (Path(out) if out else settings.output_folder).resolve()
    snap = take_snapshot(extract(settings), out_dir / "snapshots")
    return snap, validate_snapshot(snap.tabs, settings, today)


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
    with open_db(plan) as con:
        load_snapshot_tables(con, snap, validation, plan.settings)
        load_reference_tables(con, plan.settings, plan.quarter, plan.as_of, first)
        return run_models(con, plan.settings)


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
    with open_db(plan) as con:
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
    run_metrics = [r for r in records if r["quarter"] == plan.quarter.label]
    manifest = {
        "run_id": plan.run_id,
        "flow": plan.flow,
        "quarter": plan.quarter.label,
        "as_of": plan.as_of.isoformat(),
        "started_at": plan.started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "config_hash": s.config_hash(),
        "source": source_description(s),
        "snapshot": {"id": snap.snapshot_id, "tabs": snap.tab_hashes},
        "row_counts": validation.counts(),
        "quarantined_counts": {t: c["rows_quarantined"] for t, c in validation.counts().items()},
        "metrics": run_metrics,
    }
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


def publish_folder(plan: RunPlan, files: dict[str, str]) -> Path:
    """Write files to ``<out>/<quarter>/<run_id>/`` atomically and mark it as the latest run."""
    quarter_dir = plan.out_dir / plan.quarter.label
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
    with open_db(plan) as con:
        con.execute("delete from runs where run_id = ?", [plan.run_id])
        con.execute(
            "insert into runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [plan.run_id, plan.flow, plan.quarter.label, plan.as_of, plan.started_at.replace(tzinfo=None),
             None if status == "running" else datetime.now(timezone.utc).replace(tzinfo=None),
             status, snapshot_id, str(folder) if folder else None, message[:2000]],
        )


@dataclass
class RunRecord:
    snapshot_id: str | None = None
    folder: Path | None = None


@contextmanager
def recorded_run(plan: RunPlan):
    """Record the run as running, then as succeeded or failed (with the error) in the runs table."""
    run = RunRecord()
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
    plan = plan_run(settings, quarter, today, out)
    with recorded_run(plan) as run:
        snap = replay(from_snapshot, plan) if from_snapshot else snapshot(extract(settings), plan)
        run.snapshot_id = snap.snapshot_id
        validation = validate(snap, settings)
        build_database(snap, validation, plan)
        result = render_and_publish(snap, validation, plan)
        run.folder = result.folder
    return result
