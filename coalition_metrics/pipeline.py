"""The quarterly run as a sequence of stages (extract -> snapshot -> validate -> load -> transform
-> render -> publish), recorded in the runs table and checked against its time limit between
stages. flows/quarterly_report.py wraps each stage in a Prefect task; ``run_quarterly`` calls them
in the same order without Prefect. The run's plan is in plan.py, the lock in runlock.py, the runs
table in runs.py and publishing in publish.py.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

from .config import Settings
from .errors import CoalitionError, RunTimedOut
from .plan import RunPlan, RunResult, output_folder_ready, plan_refresh, plan_run, with_source
from .publish import publish_funder, render_ahead, render_and_publish, render_funder_ahead
from .quarters import Quarter
from .runlock import open_db, run_lock
from .runs import record_run, snapshot_for
from .snapshot import Snapshot, load_snapshot, take_snapshot
from .transaction import one_commit
from .sources import RawTab, open_source
from .validate import ValidationResult, validate_snapshot
from .validate.ahead import PredictionMissed


def extract(settings: Settings) -> dict[str, RawTab]:
    return open_source(settings.source_location, settings).read_tabs(settings.tabs)


def snapshot(tabs: dict[str, RawTab], plan: RunPlan) -> Snapshot:
    return take_snapshot(tabs, plan.snapshots_dir)


def replay(run_or_snapshot: str, plan: RunPlan) -> Snapshot:
    """The snapshot of an earlier run (by run id) or a snapshot id (or a unique prefix of one)."""
    return load_snapshot(snapshot_for(run_or_snapshot, plan), plan.snapshots_dir)


def validate(snap: Snapshot, settings: Settings) -> ValidationResult:
    """The checks, with "today" the day the snapshot's source was read (a replay checks alike)."""
    return validate_snapshot(snap.tabs, settings, snap.read_on)


def validate_ahead(snap: Snapshot, settings: Settings) -> ValidationResult:
    """The validate stage of a command whose Great Expectations runs in a process of its own
    (validate.gx_process): the validation is made from predicted answers while that process answers
    the same calls (validate.ahead), so the run loads and builds meanwhile; build_database then
    checks every answer is the predicted one before the run goes on to publish (PredictionMissed
    otherwise). Without that process (a Prefect flow, a test calling the command's main) it is
    ``validate``."""
    from .validate import gx_process
    from .validate.ahead import Ahead

    if not gx_process.running():
        return validate(snap, settings)
    ahead = Ahead()
    try:
        validation = validate_snapshot(snap.tabs, settings, snap.read_on, check=ahead)
    except Exception:
        # a blocking problem (or an error) found from predicted answers is reported only if Great
        # Expectations answers alike; else the validation is made again from its answers
        if ahead.agreed():
            raise
        return validate(snap, settings)
    ahead.start()
    validation.ahead = ahead
    return validation


def confirmed(validation: ValidationResult) -> bool:
    """True unless ``validation`` was made ahead (validate_ahead) and Great Expectations' answers
    differ from the predicted ones (waits for them)."""
    ahead, validation.ahead = validation.ahead, None
    return ahead is None or ahead.agreed()


def check_source(settings: Settings, source: str | None = None, out: str | Path | None = None,
                 today: date | None = None) -> tuple[Snapshot, ValidationResult]:
    """`coalition validate`: extract, snapshot and validate only; nothing is loaded or published.

    Raises BlockingValidationError (carrying the row-level result when the row checks ran)."""
    settings = with_source(settings, source)
    out_dir = output_folder_ready(Path(out) if out else settings.output_folder)
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


@dataclass(frozen=True)
class Build:
    """What build_database built: the models in build order, and why it left out the lineage
    tables that [output] lineage asked for ("" when it did not)."""
    models: list[str]
    lineage_note: str = ""
    rendered: Any = None  # what build_database's ``render`` made of it (publish.Rendered), or None


def build_database(snap: Snapshot, validation: ValidationResult, plan: RunPlan,
                   lineage: bool | None = None, render: Callable | None = None) -> Build:
    """Load raw, quarantine and reference tables, then build staging and marts, and the lineage
    tables when ``lineage`` (default: [output] lineage, unless the coalition's sheet rows x
    reporting quarters exceed [output] lineage_max_row_quarters; a replay for explain always builds
    them).

    The build is one transaction, with its record (ref.build: this run built the tables). A
    validation made ahead of Great Expectations' answer (validate_ahead) is checked after it
    commits: PredictionMissed when the answer differs (run_stages validates and builds again).
    While that answer is awaited, ``render(con, snap, validation, plan)`` (publish.render_ahead)
    renders the run's files from the build, for the publish stage once the answer agrees; an error
    there is left for that stage to meet and report."""
    try:
        first = first_quarter(validation, plan.settings)
        if plan.quarter < first:
            raise CoalitionError(
                f"Quarter {plan.quarter} is before the coalition's data starts ({first}). Pick a quarter "
                f"from {first} on."
            )
        with run_lock(plan), open_db(plan) as con:
            with one_commit(con):  # a build that fails leaves the database as the last build left it
                built, note = _build(con, snap, validation, plan, lineage, first)
                record_build(con, plan, snap)
            # committed while Great Expectations answers; if it refutes them, the tables are recorded
            # as this run's build, which then validates and builds again or fails (explain replays
            # the published runs: their rows are not these tables')
            rendered = None
            if render is not None and validation.ahead is not None and validation.ahead.answering:
                try:
                    rendered = render(con, snap, validation, plan)
                except Exception:
                    rendered = None  # rendered again after the answer, by the stage that reports it
            if not confirmed(validation):
                raise PredictionMissed("Great Expectations' answers differ from the predicted ones")
        return Build(built, note, rendered)
    except PredictionMissed:
        raise
    except Exception:
        if not confirmed(validation):  # the error may come from a prediction Great Expectations refutes
            raise PredictionMissed("Great Expectations' answers differ from the predicted ones") from None
        raise


def _build(con, snap: Snapshot, validation: ValidationResult, plan: RunPlan, lineage: bool | None,
           first: Quarter) -> tuple[list[str], str]:
    """build_database's tables: (the models built, the lineage note)."""
    from .load import load_reference_tables, load_snapshot_tables
    from .transform import FIGURE_LAYERS, LAYERS, lineage_limit_note, run_models

    # While Great Expectations' process answers a validation made ahead, it works on the other core:
    # DuckDB then keeps to one thread (the example's build takes 1.5-1.6 s in one, 1.7-1.8 s in two,
    # and delays that process less); once it has answered, DuckDB has every core again, from the
    # next model on (checked before each one: a larger coalition's answer often comes during them).
    ahead = validation.ahead
    one_thread = [ahead is not None and ahead.answering]

    def every_core_once_answered() -> None:
        if one_thread[0] and not ahead.answering:
            con.execute("reset threads")
            one_thread[0] = False

    if one_thread[0]:
        con.execute("set threads = 1")
    load_snapshot_tables(con, snap, validation, plan.settings)
    load_reference_tables(con, plan.settings, plan.quarter, plan.as_of, first)
    note = lineage_limit_note(con, plan.settings) if lineage is None and plan.settings.build_lineage else ""
    with_lineage = (plan.settings.build_lineage and not note) if lineage is None else lineage
    every_core_once_answered()
    return run_models(con, plan.settings, LAYERS if with_lineage else FIGURE_LAYERS,
                      before_each=every_core_once_answered), note


def record_build(con, plan: RunPlan, snap: Snapshot) -> None:
    """ref.build: which run built the database's raw, staging, marts and lineage tables. They
    describe the last build only, which may be a later run than the published one `coalition
    explain` is asked about (a refresh, a failed run): explain reads them only for that run."""
    con.execute(BUILD_DDL)
    con.execute("insert into ref.build values (?, ?, ?, ?, ?, ?)",
                [plan.settings.coalition_id, plan.run_id, plan.flow, plan.quarter.label, plan.as_of, snap.snapshot_id])


# ref.build: one row per coalition the database was last built for (a portfolio's: every coalition).
BUILD_DDL = """create or replace table ref.build (coalition_id varchar, run_id varchar, flow varchar,
                                                 quarter varchar, as_of date, snapshot_id varchar)"""


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
        try:
            record_run(plan, "failed", run.snapshot_id, message=str(exc))
        except Exception:  # e.g. the disk is full: the run's own error is the one to report
            pass
        raise
    record_run(plan, "succeeded", run.snapshot_id, run.folder)


# ---------------------------------------------------------------------------------------------
def run_quarterly(settings: Settings, quarter: str | None = None, source: str | None = None,
                  out: str | Path | None = None, from_snapshot: str | None = None,
                  today: date | None = None, write_back: bool = True) -> RunResult:
    """The whole quarterly run without Prefect: what the flow does, in the same order, then the
    write-back to the Google Sheet (raises WriteBackError, the run published, when it fails)."""
    from .writeback import after_publish

    settings = with_source(settings, source)
    plan = plan_run(settings, quarter, today, out)
    result = run_stages(plan, render_and_publish, from_snapshot, render=render_ahead)
    after_publish(plan, result, write_back)
    return result


def run_refresh(settings: Settings, source: str | None = None, out: str | Path | None = None,
                as_of: date | str | None = None, today: date | None = None, write_back: bool = True) -> RunResult:
    """`refresh-funder-metrics` without Prefect: the current quarter to date, funder files only,
    then the write-back to the Google Sheet."""
    from .writeback import after_publish

    settings = with_source(settings, source)
    plan = plan_refresh(settings, as_of, today, out)
    result = run_stages(plan, publish_funder, render=render_funder_ahead)
    after_publish(plan, result, write_back)
    return result


@dataclass(frozen=True)
class Stages:
    """The stage functions a run calls: the plain ones here, or the Prefect tasks that wrap them
    (flows.tasks.run_stages), so the order and the checks between stages are written once."""
    extract: Any
    snapshot: Any
    replay: Any
    validate: Any
    build_database: Any


def run_stages(plan: RunPlan, publish, from_snapshot: str | None = None, stages: Stages | None = None,
               render: Callable | None = None) -> RunResult:
    """extract (or replay) -> snapshot -> validate -> load -> transform -> publish, recorded in the
    runs table; ``publish`` is render_and_publish (quarterly) or publish_funder (refresh).
    ``render`` (render_ahead, render_funder_ahead) renders publish's files while Great Expectations
    answers a validation made ahead (build_database); publish then takes them as ``rendered``.

    Between stages the run checks its time limit (RunRecord.stage)."""
    st = stages or Stages(extract, snapshot, replay, validate_ahead, build_database)
    settings = plan.settings
    with recorded_run(plan) as run:
        if from_snapshot is not None:  # an empty value is refused, not taken as 'no replay'
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
            try:
                if render is not None and validation.ahead is not None:
                    build = st.build_database(snap, validation, plan, render=render)
                else:
                    build = st.build_database(snap, validation, plan)
            except PredictionMissed:  # made ahead and refuted (validate_ahead): Great Expectations' own, again
                validation = validate(snap, settings)
                build = st.build_database(snap, validation, plan)
            run.stage("publish")
            if build.rendered is not None:
                result = publish(snap, validation, plan, rendered=build.rendered)
            else:
                result = publish(snap, validation, plan)
        run.folder = result.folder
    if build.lineage_note:
        result.notes.append(build.lineage_note)
    return result
