"""A portfolio run without Prefect on every core: its coalitions are prepared (extract -> snapshot
-> validate) and published in a pool of worker processes, one contiguous chunk of coalitions per
process; the one-pass database build stays in the run's own process (DuckDB uses every core itself).

A worker is a fresh interpreter (the "spawn" start method: forking a process that already runs
DuckDB's threads is not safe), so it costs about 3 s to start; small portfolios run in-process.
Each coalition's outputs are exactly what it gets in-process: the workers call the same functions
(run.prepare_chunk, run.publish_chunk). A worker that dies takes its chunk with it: each of those
coalitions is reported failed at that stage, and the others go on.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable

MIN_PER_PROCESS = 10  # with [orchestration] portfolio_processes = 0: no process for fewer coalitions


def process_count(setting: int, coalitions: int) -> int:
    """The worker processes a portfolio of ``coalitions`` uses: ``setting`` when it is 1 or more
    (1 = everything in the run's own process), else one per CPU core, but no more than one per
    MIN_PER_PROCESS coalitions (a worker's start costs about as much as a few coalitions)."""
    if setting >= 1:
        return max(1, min(setting, coalitions))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, coalitions // MIN_PER_PROCESS))


class Pool:
    def __init__(self, executor: ProcessPoolExecutor, processes: int):
        self.executor, self.processes = executor, processes


@contextmanager
def process_pool(processes: int):
    """A pool of ``processes`` spawned workers, or None (in-process) for fewer than 2."""
    if processes < 2:
        yield None
        return
    import multiprocessing

    executor = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=worker_start)
    try:
        _start_workers(executor, processes)
        yield Pool(executor, processes)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def worker_start() -> None:
    """Each worker, once, before its first chunk:
    - the modules a chunk needs are imported, then kept out of the garbage collector's passes, and the
      collector is set as the command's (collector.py);
    - when the pool shuts it down, it ends at once (os._exit from an exit handler, once its results
      are sent: multiprocessing flushes its queues before the interpreter's exit handlers run): the
      interpreter's own teardown, after Great Expectations is loaded, took about 0.9 s, which the
      run waited for with every core idle. It holds no file or connection open by then (each chunk
      closes its own)."""
    import atexit

    from ..collector import keep_imported, leave_now, tune

    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    from . import run  # noqa: F401

    keep_imported()
    tune()
    atexit.register(leave_now)


def _start_workers(executor: ProcessPoolExecutor, processes: int) -> None:
    """Start every worker now, without the caller's script: a spawned worker runs the main module's
    file again unless that module was imported by name (``python -m``), and a script that calls
    run_portfolio without an ``if __name__ == "__main__":`` guard would then run the portfolio in
    each worker (which Python stops with a RuntimeError). The workers only need coalition_metrics,
    so the main module's file is hidden while they start."""
    import sys

    main = sys.modules.get("__main__")
    hidden = main is not None and getattr(main, "__spec__", None) is None and "__file__" in vars(main)
    path = vars(main).pop("__file__") if hidden else None
    try:
        for future in [executor.submit(os.getpid) for _ in range(processes)]:
            future.result()
    finally:
        if hidden:
            main.__file__ = path


def chunks(items: list, parts: int) -> list[list]:
    """``items`` in at most ``parts`` contiguous, non-empty chunks whose sizes differ by at most one."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out


def in_processes(pool: Pool, fn: Callable[..., list], items: list, stage: str, lead: tuple = (),
                 keyword: dict | None = None) -> list[Any]:
    """``fn(*lead, chunk, **keyword)`` for each chunk of ``items`` in the pool's processes; the results in
    ``items``' order. A chunk whose worker failed as a whole (it died, or its result could not be
    sent back) gives each of its coalitions a failure at ``stage``."""
    from .run import failure

    parts = chunks(items, pool.processes)
    futures = [pool.executor.submit(fn, *lead, part, **(keyword or {})) for part in parts]
    results: list[Any] = []
    for part, future in zip(parts, futures):
        try:
            results.extend(future.result())
        except Exception as exc:
            from concurrent.futures.process import BrokenProcessPool

            from ..errors import CoalitionError

            what = (f"the worker process that ran its {stage} stage stopped" if isinstance(exc, BrokenProcessPool)
                    else f"the worker process that ran its {stage} stage failed on an unexpected error")
            chunk = "it alone" if len(part) == 1 else f"the {len(part)} coalitions of its chunk"
            for item in part:
                settings, plan = (item.plan.settings, item.plan) if hasattr(item, "plan") else item
                err = CoalitionError(
                    f"This coalition did not publish: {what} ({type(exc).__name__}: {exc}). That failed {chunk}; "
                    f"the others went on. Run the portfolio again; if it happens again, run it with "
                    f"[orchestration] portfolio_processes = 1 to see the coalition's own error.")
                results.append(failure(settings, err, plan, stage))  # recorded failed in its runs table
    return results
