"""The garbage collector, in one place: its threshold for the processes that run coalitions (the
`coalition` command and a portfolio's worker processes; Great Expectations' process is forked from
the command's and keeps it), the modules a process keeps for its life frozen out of its passes, and
a pause while millions of short-lived rows are built, and leaving a process without the
interpreter's teardown (``leave_now``), which walks those objects once more.

A run allocates millions of short-lived objects (cells, rows, frames, SVG text) that form no
cycles, and imports thousands of long-lived ones (pandas, DuckDB, Great Expectations). With
Python's defaults the collector starts a pass every 700 net allocations, and its older
generations' passes walk every imported object: 0.41-0.43 s of the example command's own process
(526 young, 48 middle and 4 full passes), 1.4 of 22 s for 100 coalitions in one process. After
10,000 allocations: 0.13-0.18 s and 0.2-0.3 s. Cycles are still collected, later.
"""

from __future__ import annotations

import gc

THRESHOLD = (10_000, 20, 20)  # gen0 net allocations, gen1 and gen2 passes (Python's: 700, 10, 10)


def tune() -> None:
    """This process's collector at THRESHOLD."""
    gc.set_threshold(*THRESHOLD)


def keep_imported() -> None:
    """What this process has imported so far stays for its life: the collector's full passes skip
    it from now on (gc.freeze; in a fork, its pages then stay shared)."""
    gc.freeze()


def release_kept() -> None:
    """Hand what keep_imported froze back to the collector: a process that then exits normally
    collects it as it ends (DuckDB's bindings report what is never collected as leaks)."""
    gc.unfreeze()


class no_gc:
    """Pause the cyclic garbage collector while millions of short-lived row lists are built (they
    hold only strings, so they form no cycles; each collection pass would scan them all again)."""

    def __enter__(self):
        self._was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self._was:
            gc.enable()


def leave_now(code: int = 0) -> None:
    """End this process at once with ``code``: logging and the standard streams flushed, then
    os._exit, without the interpreter's teardown (about a second once Great Expectations and
    matplotlib are loaded). Only for a process that has closed and renamed every file it writes (the
    `coalition` command after a run without Prefect; a portfolio's worker once its results are sent)."""
    import logging
    import os
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
