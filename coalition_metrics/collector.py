"""The garbage collector's settings for the processes that run coalitions: the `coalition` command
and a portfolio's worker processes (and, by fork, Great Expectations' process).

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
