"""Runs take turns with an output folder's database: the lock on ``<out>/.coalition.lock`` and the
DuckDB connection a run opens under it."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import CoalitionError, StorageError, storage_error
from .plan import LOCK_NAME, RunPlan


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
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(path, "a+")
            except OSError as exc:
                raise storage_error(exc, f"Opening the lock file {path}") from None
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.close()
                        raise _busy(plan, path) from None
                    time.sleep(0.1)
            try:  # who holds the lock, for the message of a run that waits in vain
                handle.seek(0)
                handle.truncate()
                handle.write(f"run {plan.run_id} ({plan.flow} {plan.quarter.label}, pid {os.getpid()})\n")
                handle.flush()
            except OSError as exc:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
                raise storage_error(exc, f"Writing the lock file {path}") from None
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
    """A DuckDB connection to the run's database. A database another run holds, a damaged one
    (garbage bytes, a truncated file) or a full disk stops with one paragraph saying what to do."""

    def __init__(self, plan: RunPlan):
        self.plan = plan

    def __enter__(self):
        from .load import connect

        try:
            self.con = connect(self.plan.db_path)
        except Exception as exc:
            raise database_error(exc, self.plan.db_path) from None
        return self.con

    def __exit__(self, exc_type, exc, tb):
        return _closed(self.con.close, exc, self.plan.db_path)


class attached_db:
    """The run's database attached to ``hub``, an open DuckDB connection that stays open across many
    runs (a portfolio's): ``with attached_db(hub, plan) as con`` gives a cursor whose default
    catalog is the run's coalition.duckdb (created with its runs table if new); leaving detaches
    it, which checkpoints it. Attaching costs about 1 ms where opening a DuckDB instance
    (open_db) costs about 25 ms, which a portfolio would pay per coalition and per runs-table
    write. Errors are database_error's, as open_db's."""

    ALIAS = "own_db"

    def __init__(self, hub, plan: RunPlan, ensure: bool = True):
        """``ensure=False``: the runs table is known to be there (this run's prepare stage attached
        the file and made sure of it), so its check, two catalog queries, is skipped."""
        self.hub, self.plan, self.ensure, self.con = hub, plan, ensure, None

    def __enter__(self):
        from .load import ensure_tables

        path = self.plan.db_path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if self.ensure and not path.exists():
                _copy_of_empty_database(path)
            self.hub.execute(f"attach ? as {self.ALIAS}", [str(path)])
        except Exception as exc:
            raise database_error(exc, path) from None
        try:
            self.con = self.hub.cursor()
            self.con.execute(f"use {self.ALIAS}")
            if self.ensure:
                ensure_tables(self.con)
        except Exception as exc:
            self._detach()
            raise database_error(exc, path) from None
        return self.con

    def _detach(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
        self.hub.execute(f"detach {self.ALIAS}")

    def __exit__(self, exc_type, exc, tb):
        return _closed(self._detach, exc, self.plan.db_path)


_empty_database: list[bytes] = []  # this process's template (see _copy_of_empty_database)
_empty_database_guard = threading.Lock()


def _copy_of_empty_database(path: Path) -> None:
    """Create ``path`` as a copy of an empty database that already holds the schemas and the runs
    table, unless it exists by then. The template is made once per process by load.ensure_tables
    (in a temporary folder, removed at once; its 270 KB are kept in memory). A portfolio creates a
    database per coalition: writing the copy costs about 4 ms less than creating the file and its 11
    schema statements. The copy is linked into place, so a database another run created meanwhile
    is never replaced; where that cannot be done, nothing is copied and attaching creates the
    database as before (ensure_tables still checks every database it attaches)."""
    with _empty_database_guard:
        if not _empty_database:
            import tempfile

            import duckdb

            from .load import ensure_tables

            with tempfile.TemporaryDirectory(prefix="coalition-empty-db-") as folder:
                template = Path(folder) / "empty.duckdb"
                con = duckdb.connect(str(template))
                try:
                    ensure_tables(con)
                    con.execute("checkpoint")
                finally:
                    con.close()
                _empty_database.append(template.read_bytes())
    fresh = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    try:
        fresh.write_bytes(_empty_database[0])
        os.link(fresh, path)
    except OSError:  # it exists now (another run made it), or no links here: attach creates it
        pass
    finally:
        try:
            os.unlink(fresh)
        except OSError:
            pass


def _closed(close, exc: BaseException | None, db_path: Path) -> bool:
    """Leaving a run's database (open_db, attached_db): ``close()`` it, then report the block's own
    error, or else the close's, as database_error words it; never swallows an error."""
    try:
        close()
    except Exception as close_exc:
        if exc is None:
            raise database_error(close_exc, db_path) from None
    if exc is not None:
        err = database_error(exc, db_path)
        if err is not exc:
            raise err from None
    return False


def _is_storage_failure(exc: BaseException) -> bool:
    """An error of the database file itself (I/O, damage), as opposed to a query's own error."""
    if isinstance(exc, OSError):
        return True
    try:
        import duckdb
    except ImportError:  # pragma: no cover - duckdb is a dependency
        return False
    return isinstance(exc, (duckdb.IOException, duckdb.InternalException, duckdb.SerializationException,
                            duckdb.FatalException))


def database_error(exc: BaseException, db_path: Path) -> Exception:
    """The CoalitionError for a failure to open, read or write ``db_path`` (or ``exc`` itself when
    it is a query's own error, which is a bug to report rather than something to fix here)."""
    if isinstance(exc, CoalitionError) or not isinstance(exc, Exception):
        return exc
    if isinstance(exc, OSError):
        return storage_error(exc, f"Writing the database {db_path}")
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    low = text.lower()
    if "conflicting lock" in low or "could not set lock" in low:
        return CoalitionError(
            f"The database {db_path} is in use by another coalition run. Wait for it to finish (see "
            f"`coalition runs`) and run again, or use another --out."
        )
    if any(s in low for s in ("no space left", "disk is full", "file too large", "disk quota")):
        return StorageError(
            f"Writing the database {db_path} failed: {first}. The disk is full (or a file-size limit was "
            f"reached): free some space, or point --out ([output] folder) at a disk with room, and run "
            f"again. Nothing was published by this run."
        )
    if any(s in low for s in ("permission denied", "read-only file system", "operation not permitted")):
        return StorageError(
            f"The database {db_path} cannot be written: {first}. Give a folder you can write with --out "
            f"([output] folder), or fix its permissions, and run again."
        )
    if not _is_storage_failure(exc):
        return exc
    return StorageError(
        f"The database {db_path} is damaged or is not a coalition database ({first}). It holds only "
        f"derived tables and the run history: the published run folders and the snapshots are "
        f"untouched. Move it aside (mv {db_path} {db_path}.damaged) and run again; the next run builds "
        f"a new one, and earlier runs can be replayed with --from-snapshot."
    )
