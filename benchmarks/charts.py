"""Benchmark: the report's six charts (coalition_metrics/charts.py) on the bundled example.

Runs the example's last full quarter once (without Prefect) to get its DuckDB database, then, in
fresh processes, times the import of matplotlib (what the first chart of a run pays) and
report_charts on that database: the first call in a process and the median of REPEAT more calls.
Prints figures and the SVG sizes; asserts nothing about time.

    .venv/bin/python benchmarks/charts.py [REPEAT]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUARTER = "2026-Q3"

CHILD = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
import matplotlib.figure, matplotlib.backends.backend_svg
import_s = time.perf_counter() - t0
import duckdb
from coalition_metrics.charts import report_charts
from coalition_metrics.config import load_settings
settings = load_settings(None, environ={})
con = duckdb.connect(sys.argv[1], read_only=True)
t = time.perf_counter(); charts = report_charts(con, quarter=sys.argv[2], settings=settings)
first_s = time.perf_counter() - t
again = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); report_charts(con, quarter=sys.argv[2], settings=settings)
    again.append(time.perf_counter() - t)
print(json.dumps({"import_s": import_s, "first_s": first_s, "median_s": statistics.median(again),
                  "sizes": {c["id"]: len(c["svg"].encode()) for c in charts}}))
"""


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from coalition_metrics.config import load_settings
    from coalition_metrics.pipeline import run_quarterly

    with tempfile.TemporaryDirectory() as tmp:
        run = run_quarterly(load_settings(None, environ={}), quarter=QUARTER, out=Path(tmp) / "out")
        db = run.folder.parent.parent / "coalition.duckdb"
        proc = subprocess.run([sys.executable, "-c", CHILD, str(db), QUARTER, str(repeat)], cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        fig = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"matplotlib import (figure + SVG backend), cold process: {fig['import_s']:.2f} s")
    print(f"report_charts, first call in the process (6 charts):     {fig['first_s']:.2f} s")
    print(f"report_charts, median of {repeat} further calls:             {fig['median_s']:.2f} s")
    total = sum(fig["sizes"].values())
    print("SVG sizes: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in fig["sizes"].items())
          + f" (total {total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
