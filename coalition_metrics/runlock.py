"""Runs take turns with an output folder's database: the lock on ``<out>/.coalition.lock`` and the
DuckDB connection a run opens under it."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import CoalitionError
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
