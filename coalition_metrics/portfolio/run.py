"""A portfolio run without Prefect: each coalition is prepared (extract -> snapshot -> validate),
built and published as its single run would be, then the portfolio summary is written.

Output layout (docs/portfolio.md): ``<out>/<coalition_id>/`` holds exactly what a single run of
that coalition with ``--out <out>/<coalition_id>`` holds (snapshots, its runs table, its run
folders), and ``<out>/portfolio/<quarter>/<portfolio_run_id>/`` the summary. One coalition failing
(its source, a blocking validation, its publish) is reported with its stage and message while the
others publish. flows/portfolio_run.py wraps prepare_coalition and publish_portfolio in Prefect tasks.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import BlockingValidationError, CoalitionError, RunTimedOut, storage_error
from ..plan import RunPlan, RunResult, output_folder_ready, plan_run
from ..quarters import Quarter, last_completed, same_months
from ..runlock import attached_db, run_lock
from ..runs import record_run
from ..snapshot import Snapshot
from ..transaction import one_commit
from ..validate import ValidationResult
from .config import Portfolio

PORTFOLIO_FLOW = "portfolio-run"


@dataclass
class Prepared:
    coalition_id: str
    plan: RunPlan
    snap: Snapshot
    validation: ValidationResult
    first: Quarter | None = None  # the coalition's first quarter with data, once load_ready found it

    def slim(self) -> None:
        """Drop what only the build needs (the snapshot's cells, the validated frames) once a part
        database holds this coalition's tables: publishing reads the database, the quarantine and
        the counts, so the run's process need not hold every coalition's rows."""
        self.snap = replace(self.snap, tabs={})
        for t in self.validation.tabs.values():
            t.records = t.accepted = None


@dataclass
class Failed:
    """A coalition that published nothing in this run: the stage it stopped at (plan, extract,
    snapshot, validate, load, publish) and the error's one-paragraph message."""
    coalition_id: str
    name: str
    stage: str
    message: str
    run_id: str | None = None
    quarter: str | None = None
    blocking_issues: int = 0  # blocking validation problems (stage validate)
    completeness: dict[str, Any] | None = None  # rows accepted / set aside, when validation ran


@dataclass
class Published:
    coalition_id: str
    name: str
    result: RunResult
    plan: RunPlan
    write_back: str = ""  # a failed write-back to the Google Sheet (the run is published)
    figures: dict[str, Any] | None = None  # its part of the summary (summary.coalition_figures)


@dataclass
class PortfolioResult:
    run_id: str
    quarter: str
    published: list[Published]
    failed: list[Failed]
    folder: Path  # the summary's folder
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """2 no coalition published; 1 some failed and the others published; 3 every coalition
        published but a Google Sheet refused its funder table (write-back); 0 all published."""
        if not self.published:
            return 2
        if self.failed:
            return 1
        return 3 if any(p.write_back for p in self.published) else 0


# ---- choosing the quarter ----------------------------------------------------------------------
def portfolio_quarter(portfolio: Portfolio, quarter: str | Quarter | None, today: date) -> Quarter:
    """The portfolio's quarter, in the shared [quarters] calendar (default: its last completed one)."""
    fs = portfolio.settings.fiscal_year_start_month
    if isinstance(quarter, Quarter):
        return quarter
    if not quarter:
        return last_completed(today, fs)
    try:
        return Quarter.parse(quarter, fs)
    except ValueError as exc:
        raise CoalitionError(f"--quarter {exc} (a portfolio's quarters are those of its shared [quarters] "
                             f"section; each coalition reports the quarter of its own year covering the same months)."
                             ) from None


def plan_coalition(settings: Settings, quarter: Quarter, today: date, out: Path) -> RunPlan:
    """The coalition's run plan: the quarter of its own (fiscal) year covering the portfolio quarter's
    months, published under <out>/<coalition_id>/."""
    own = same_months(quarter, settings.fiscal_year_start_month)
    if own is None:
        raise CoalitionError(
            f"The portfolio's quarter {quarter} ({quarter.start} to {quarter.end}) is not a quarter of coalition "
            f"{settings.coalition_id!r}, whose year starts in month {settings.fiscal_year_start_month}; a portfolio's "
            f"coalitions need quarters covering the same months (years starting in January, April, July or "
            f"October, or the same month as the shared [quarters]).")
    return plan_run(settings, own.label, today, Path(out) / settings.coalition_id)


# ---- one coalition ---------------------------------------------------------------------------
def prepare_coalition(settings: Settings, plan: RunPlan) -> Prepared:
    """extract -> snapshot -> validate for one coalition (pipeline.py's stage functions), recorded
    in the coalition's runs table. Raises the stage's CoalitionError with ``.stage`` set (a run
    recorded as failed); an OSError becomes a StorageError."""
    from ..pipeline import validate

    snap = take_snapshot_of(settings, plan)
    try:
        validation = validate(snap, settings)
    except (CoalitionError, OSError) as exc:
        raise _stage_error(exc, "validate", plan, snap) from None
    return Prepared(settings.coalition_id, plan, snap, validation)


def take_snapshot_of(settings: Settings, plan: RunPlan, hub=None) -> Snapshot:
    """extract -> snapshot for one coalition, recorded as running in its runs table (with the
    snapshot, so a run that dies later can resume from it). Raises the stage's error with ``.stage``.
    ``hub``: an open DuckDB connection to attach the coalition's database to for those writes
    (runlock.attached_db; prepare_many's), instead of opening it for each. With a hub the run is
    recorded once, when its snapshot is taken (or as failed), not also before extracting: each
    commit costs a few ms, which a portfolio pays per coalition."""
    from ..pipeline import extract, snapshot

    stage, snap, recorded = "extract", None, False
    try:
        with runs_connection(hub, plan) as con:
            try:
                if hub is None:
                    record_run(plan, "running", con=con)
                tabs = extract(settings)
                stage = "snapshot"
                snap = snapshot(tabs, plan)
                record_run(plan, "running", snap.snapshot_id, con=con)
            except Exception as exc:  # an unforeseen error too is this stage's, and recorded
                recorded = True
                err = _stage_error(exc, stage, plan, snap, con)
                if hub is not None:  # no publish will fold this failure into the file: do it now
                    _checkpoint(con)
                raise err from None
    except (CoalitionError, OSError) as exc:
        if recorded:
            raise
        raise _stage_error(exc, stage, plan, snap) from None  # the database itself failed
    return snap


def _checkpoint(con) -> None:
    """The attached run database's write-ahead log folded into its file (prepare_many's hub leaves
    it there for the coalition's publish); a failure here leaves it in the log, where it is kept."""
    try:
        con.execute(f"checkpoint {attached_db.ALIAS}")
    except Exception:
        pass


def runs_connection(hub, plan: RunPlan):
    """The run's database attached to ``hub`` (runlock.attached_db), or None (record_run opens it)
    without a hub."""
    return attached_db(hub, plan) if hub is not None else nullcontext(None)


VALIDATE_BATCH = 250  # coalitions validated in one Great Expectations pass (memory stays bounded)


def prepare_many(planned: list[tuple[Settings, RunPlan]]) -> tuple[list[Prepared], list[Failed]]:
    """prepare_coalition for many coalitions in one process: extract and snapshot each, then validate
    them in batches with one Great Expectations pass per batch (validate.validate_many: the suites
    cost per expectation, not per row, so 1,000 coalitions do not pay 1,000 times). Each
    coalition's result is exactly what prepare_coalition gives it; a failure is that coalition's."""
    from ..validate import validate_many

    import duckdb

    prepared, failed, taken = [], [], []
    hub = duckdb.connect()  # each coalition's database is attached to it in turn (runlock.attached_db)
    # Detaching leaves the run's row in the database's write-ahead log instead of checkpointing it
    # (about 6 ms a coalition): the row is as durable there, and the next connection to the file
    # (the coalition's publish) reads it and checkpoints.
    hub.execute("pragma disable_checkpoint_on_shutdown")
    try:
        for settings, plan in planned:
            try:
                taken.append((settings, plan, take_snapshot_of(settings, plan, hub)))
            except Exception as exc:  # one coalition's failure is reported; the others go on
                failed.append(failure(settings, exc, plan))
    finally:
        hub.close()
    for start in range(0, len(taken), VALIDATE_BATCH):
        batch = taken[start:start + VALIDATE_BATCH]
        outcomes = validate_many([(settings, snap.tabs, snap.read_on) for settings, _, snap in batch])
        for (settings, plan, snap), outcome in zip(batch, outcomes):
            if isinstance(outcome, BaseException):
                failed.append(failure(settings, _stage_error(outcome, "validate", plan, snap), plan, "validate"))
            else:
                prepared.append(Prepared(settings.coalition_id, plan, snap, outcome))
    return prepared, failed


@dataclass
class Part:
    """A database file holding a chunk's per-coalition tables (coalition_db.write_part)."""
    path: Path
    coalition_ids: list[str]


PART_SIZE = 100  # coalitions whose rows a worker holds at once before writing them to a part database


def prepare_chunk(planned: list[tuple[Settings, RunPlan]], part_dir: Path | None = None,
                  budgets: dict[str, int] | None = None) -> list[Prepared | Failed | Part]:
    """prepare_many for a chunk of the portfolio (what a process of parallel.py's pool runs), with the
    portfolio's Sheets read budgets declared (ratelimit.portfolio_budgets). With
    ``part_dir``, every PART_SIZE prepared coalitions also have their tables written into a part
    file there (so the run's own process concatenates them in DuckDB instead of building every
    coalition's frames itself), and then drop their rows (Prepared.slim): a worker holds at most
    PART_SIZE coalitions' rows, however large its chunk. The parts follow the outcomes."""
    from ..ratelimit import declare_budgets

    declare_budgets(budgets or {})
    if part_dir is None:
        prepared, failed = prepare_many(planned)
        return [*prepared, *failed]
    outcomes: list = []
    parts: list[Part] = []
    for start in range(0, len(planned), PART_SIZE):
        prepared, failed = prepare_many(planned[start:start + PART_SIZE])
        ready = load_ready(prepared, failed)
        part = _write_part(ready, failed, Path(part_dir)) if ready else None
        if part is not None:
            for p in ready:
                p.slim()
            outcomes += ready
            parts.append(part)
        outcomes += failed
    return [*outcomes, *parts]


def _write_part(ready: list[Prepared], failed: list[Failed], part_dir: Path) -> Part | None:
    """The coalitions' tables in a part database; None when it could not be written (each of them is
    then appended to ``failed`` at the load stage)."""
    import os

    from ..coalition_db import write_part

    path = part_dir / f".portfolio-part-{os.getpid()}-{ready[0].coalition_id}.duckdb"
    try:
        write_part([(p.plan.settings, p.plan, p.snap, p.validation) for p in ready], path)
    except Exception as exc:  # the tables could not be written: these coalitions fail at load
        path.unlink(missing_ok=True)
        for p in ready:
            failed.append(failure(p.plan.settings, _stage_error(exc, "load", p.plan, p.snap), p.plan, "load",
                                  p.validation))
        return None
    return Part(path, [p.coalition_id for p in ready])


def load_ready(prepared: list[Prepared], failed: list[Failed]) -> list[Prepared]:
    """The prepared coalitions whose data starts by their run's quarter; each other one is appended
    to ``failed`` at the load stage (a quarter before a coalition's data is that coalition's failure)."""
    from ..pipeline import first_quarter

    ready = []
    for p in prepared:
        try:
            first = p.first = p.first or first_quarter(p.validation, p.plan.settings)
            if p.plan.quarter < first:
                raise CoalitionError(f"Quarter {p.plan.quarter} is before the coalition's data starts ({first}). "
                                     f"Pick a quarter from {first} on.")
            ready.append(p)
        except Exception as exc:
            failed.append(failure(p.plan.settings, _stage_error(exc, "load", p.plan, p.snap), p.plan, "load",
                                  p.validation))
    return ready


def _stage_error(exc: BaseException, stage: str, plan: RunPlan | None, snap: Snapshot | None,
                 con=None) -> CoalitionError:
    """The error as a CoalitionError carrying its stage, recorded as the run's failure."""
    if isinstance(exc, OSError):
        exc = storage_error(exc, f"The {stage} stage")
    elif not isinstance(exc, CoalitionError):
        exc = CoalitionError(f"The {stage} stage stopped on an unexpected error ({type(exc).__name__}: {exc}); this "
                             f"is a bug in coalition-metrics, please report it with this message.")
    if getattr(exc, "stage", None) is None:
        exc.stage = stage
    if plan is not None:
        try:
            record_run(plan, "failed", snap.snapshot_id if snap else None, message=str(exc), con=con)
        except Exception:  # e.g. a full disk: the stage's own error is the one to report
            pass
    return exc


def failure(settings: Settings, exc: BaseException, plan: RunPlan | None = None, stage: str | None = None,
            validation: ValidationResult | None = None) -> Failed:
    """A coalition's failure as the portfolio reports it (the stage from the error when it carries one)."""
    from ..funder import completeness

    stage = getattr(exc, "stage", None) or stage or ("plan" if plan is None else "prepare")
    if not isinstance(exc, CoalitionError) or getattr(exc, "stage", None) is None:
        exc = _stage_error(exc, stage, plan, None)
    blocking = len(exc.problems) if isinstance(exc, BlockingValidationError) and isinstance(exc.problems, list) else 0
    if validation is None and isinstance(exc, BlockingValidationError):
        validation = exc.result
    return Failed(settings.coalition_id, settings.coalition_name, stage, one_paragraph(str(exc)),
                  plan.run_id if plan else None, plan.quarter.label if plan else None, blocking,
                  completeness(validation) if validation is not None else None)


def one_paragraph(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


# ---- building and publishing ------------------------------------------------------------------
def build_and_publish(prepared: list[Prepared], out: Path, pool=None, parts: list[Part] | None = None,
                      clock=None) -> tuple[list[Published], list[Failed]]:
    """Build every prepared coalition's figures in ONE database pass (coalition_db.build_portfolio_database
    into <out>/portfolio.duckdb: every table keyed by coalition_id), then publish each coalition's run
    folder from its view of that database (coalition_view), as its single run would publish it. The
    figures a run publishes are also kept in the coalition's own <out>/<id>/coalition.duckdb
    (run_metrics, beside its runs table), so `coalition explain` and `verify` work per coalition.
    ``parts``: the prepared coalitions' tables as prepare_chunk's workers wrote them (removed after
    the build); ``pool``: the worker processes to publish in; ``clock``: portfolio_clock's check,
    before the build and before publishing (a portfolio past its time limit publishes nothing more)."""
    from ..coalition_db import build_portfolio_database

    published, failed = [], []
    ready = load_ready(prepared, failed)
    db_path = Path(out) / PORTFOLIO_DB
    try:
        if ready and clock is not None:
            clock("load")
        if ready:
            paths = [part.path for part in parts] if parts else None
            build_portfolio_database([(p.plan.settings, p.plan, p.snap, p.validation) for p in ready], db_path,
                                     paths)
    except Exception as exc:  # the one pass failed: no coalition has figures
        for p in ready:
            failed.append(failure(p.plan.settings, _stage_error(exc, "load", p.plan, p.snap), p.plan, "load",
                                  p.validation))
        return published, failed
    finally:
        for part in parts or ():
            part.path.unlink(missing_ok=True)
    if not ready:
        return published, failed
    try:
        if clock is not None:
            clock("publish")
    except RunTimedOut as exc:
        for p in ready:
            failed.append(failure(p.plan.settings, _stage_error(exc, "publish", p.plan, p.snap), p.plan, "publish",
                                  p.validation))
        return published, failed
    if pool is None:
        outcomes = publish_chunk(db_path, ready)
    else:
        from .parallel import in_processes

        outcomes = in_processes(pool, publish_chunk, ready, "publish", lead=(db_path,))
    for outcome in outcomes:
        (published if isinstance(outcome, Published) else failed).append(outcome)
    return published, failed


READ_BATCH = 50  # coalitions whose report reads (report_reads.read_many) are one query each


def publish_chunk(db_path: Path, chunk: list[Prepared]) -> list[Published | Failed]:
    """Publish each of ``chunk``'s coalitions from its view of the built database (one read-only
    connection for the chunk; a process of parallel.py's pool runs one chunk). What a report reads
    by query (published figures, chart rows, report tables) is read READ_BATCH coalitions at a time
    (report_reads.read_many: a query per read for all of them); if that read fails, each coalition
    reads its own, so a failure is that coalition's."""
    from ..coalition_db import coalition_view
    from ..report_reads import read_many

    out: list[Published | Failed] = []
    with coalition_view(db_path, chunk[0].coalition_id) as view:
        for start in range(0, len(chunk), READ_BATCH):
            batch = chunk[start:start + READ_BATCH]
            try:
                read = read_many(view, [p.plan for p in batch])
            except Exception:
                read = {}
            out += [publish_one(view, p, read.get(p.coalition_id)) for p in batch]
    return out


def publish_one(view, p: Prepared, read: dict | None = None) -> Published | Failed:
    """One coalition's run folder from its view (read_figures -> write_run_folder), its figures kept
    and its run recorded in its own database; a failure is that coalition's. ``read``: its rows
    as publish.read_many read them."""
    from ..publish import read_figures, write_run_folder

    try:
        _switch(view, p.coalition_id)
        records, context = read_figures(view, p.snap, p.validation, p.plan, read)
        with run_lock(p.plan), attached_db(view, p.plan, ensure=False) as own:  # prepare ensured its tables
            keep_run_metrics(view, p.plan)
            result = write_run_folder(p.snap, p.validation, p.plan, records, context)
            record_run(p.plan, "succeeded", p.snap.snapshot_id, result.folder, con=own)
    except Exception as exc:  # one coalition's failure is reported; the others publish
        return failure(p.plan.settings, _stage_error(exc, "publish", p.plan, p.snap), p.plan, "publish",
                       p.validation)
    return Published(p.coalition_id, p.plan.settings.coalition_name, result, p.plan,
                     figures=_summary_figures(records, p))


def _summary_figures(records: list[dict], p: Prepared) -> dict[str, Any] | None:
    """The coalition's part of the portfolio summary, from the funder_metrics.json document its run
    folder has just been given (the same function of the same records); None if that fails, and
    the summary then reads the file."""
    from ..funder import completeness, funder_doc
    from .summary import coalition_figures

    s = p.plan.settings
    try:
        doc = funder_doc(records, s.coalition_name, p.plan.quarter.label, completeness(p.validation))
        return coalition_figures(doc, p.plan.quarter.label, s.small_n)
    except Exception:
        return None


PORTFOLIO_DB = "portfolio.duckdb"


def _switch(con, coalition_id: str) -> None:
    """coalition_view's coalition on an open view connection (CoalitionView.switch, by its variable)."""
    from ..coalition_db import VARIABLE

    con.execute(f"set variable {VARIABLE} = ?", [coalition_id])


def keep_run_metrics(view, plan: RunPlan) -> None:
    """The coalition's published figures (marts.published_metrics on its view, column types as they
    are) kept under the run id in its own <out>/<id>/coalition.duckdb, as a single run keeps them
    (runs.keep_published_metrics). That file is attached to the view's connection as
    runlock.attached_db.ALIAS (the caller's ``with attached_db(view, plan)``)."""
    own = attached_db.ALIAS
    with one_commit(view):  # three statements, one commit (each commit costs a few ms, per coalition)
        view.execute(f"""create table if not exists {own}.main.run_metrics as
                         select ''::varchar as run_id, * from marts.published_metrics limit 0""")
        view.execute(f"delete from {own}.main.run_metrics where run_id = ?", [plan.run_id])
        view.execute(f"""insert into {own}.main.run_metrics by name
                         select ? as run_id, * from marts.published_metrics""", [plan.run_id])


def publish_portfolio(prepared: list[Prepared], failed: list[Failed], portfolio: Portfolio,
                      quarter: str | Quarter | None, out: str | Path, *, today: date | None = None,
                      write_back: bool = True, run_id: str | None = None,
                      started_at: datetime | None = None, pool=None,
                      parts: list[Part] | None = None) -> PortfolioResult:
    """Build and publish every prepared coalition (build_and_publish), write back each Google Sheet
    source's funder table, then write the portfolio summary. ``failed``: the coalitions that
    stopped before (prepare_coalition's errors as ``failure`` reports them). ``pool``: parallel.py's
    worker processes to publish in (None: in this process); ``parts``: the prepared coalitions' tables
    as its workers wrote them (prepare_chunk)."""
    from ..writeback import after_publish
    from ..errors import WriteBackError
    from .summary import write_summary

    today = today or date.today()
    q = portfolio_quarter(portfolio, quarter, today)
    out = output_folder_ready(out)
    clock = portfolio_clock(portfolio, started_at) if started_at is not None else None
    published, more_failed = build_and_publish(prepared, out, pool, parts, clock)
    for pub in published:
        try:
            after_publish(pub.plan, pub.result, write_back)
        except WriteBackError as exc:
            pub.write_back = one_paragraph(str(exc))
    order = {cid: i for i, cid in enumerate(portfolio.ids)}
    all_failed = sorted([*failed, *more_failed], key=lambda f: order.get(f.coalition_id, len(order)))
    published.sort(key=lambda x: order.get(x.coalition_id, len(order)))
    return write_summary(portfolio, q, published, all_failed, out, run_id=run_id, started_at=started_at,
                         today=today)


def portfolio_clock(portfolio: Portfolio, started_at: datetime):
    """A check that raises RunTimedOut once the portfolio run, started at ``started_at``, has used up
    its [orchestration] flow_timeout_seconds (the portfolio file's): called between stages, where
    stopping is clean, as a single run checks its own (pipeline.RunRecord.stage)."""
    from ..pipeline import run_time_limit

    limit = run_time_limit(portfolio.settings)

    def check(stage: str) -> None:
        used = (datetime.now(timezone.utc) - started_at).total_seconds()
        if used > limit:
            raise RunTimedOut(
                f"The portfolio run stopped before the {stage} stage after {used:.1f} s: its limit is {limit:g} s "
                f"([orchestration] flow_timeout_seconds). This coalition was marked failed and nothing was published "
                f"for it. Raise the limit for a portfolio of this size, or give it more worker processes "
                f"([orchestration] portfolio_processes, or the Dask workers of the Prefect flow).")
    return check


def run_portfolio(portfolio: Portfolio, quarter: str | Quarter | None = None, out: str | Path | None = None,
                  today: date | None = None, write_back: bool = True) -> PortfolioResult:
    """The whole portfolio without Prefect: its coalitions prepared (a failure is reported and the
    others go on), then publish_portfolio; in [orchestration] portfolio_processes worker processes
    (parallel.py) when the portfolio is large enough to gain from them."""
    from ..ratelimit import budgets_declared, portfolio_budgets
    from .parallel import in_processes, process_count, process_pool

    started_at = datetime.now(timezone.utc)
    today = today or date.today()
    q = portfolio_quarter(portfolio, quarter, today)
    out = output_folder_ready(out or portfolio.settings.output_folder)
    planned, failed = [], []
    for settings in portfolio.coalitions:
        plan = None
        try:
            planned.append((settings, plan_coalition(settings, q, today, out)))
        except Exception as exc:  # one coalition's failure is reported; the others go on
            failed.append(failure(settings, exc, plan))
    # one Sheets read budget per service account, whichever process reads (ratelimit.py)
    budgets = portfolio_budgets(portfolio.coalitions)
    processes = process_count(portfolio.settings.data["orchestration"]["portfolio_processes"], len(planned))
    with budgets_declared(budgets), process_pool(processes) as pool:
        parts = None
        if pool is None:
            prepared, failed_prepare = prepare_many(planned)
        else:
            outcomes = in_processes(pool, prepare_chunk, planned, "prepare",
                                    keyword={"part_dir": out, "budgets": budgets})
            prepared = [o for o in outcomes if isinstance(o, Prepared)]
            failed_prepare = [o for o in outcomes if isinstance(o, Failed)]
            parts = [o for o in outcomes if isinstance(o, Part)]
        failed += failed_prepare
        return publish_portfolio(prepared, failed, portfolio, q, out, today=today, write_back=write_back,
                                 started_at=started_at, pool=pool, parts=parts)
