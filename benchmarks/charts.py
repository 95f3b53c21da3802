"""Benchmark: the report's six charts (coalition_metrics/charts.py, SVG written directly) on the
bundled example.

Runs the example's last full quarter once (without Prefect, PDFs off) to get its DuckDB database,
or takes one given with --db, then, in a fresh process, times the import of the charts module, the
first report_charts call in the process and the median of REPEAT more calls, and of that median the
six chart-data queries (reports/chart_data/*.sql) against the drawing. Prints figures and the SVG
sizes; asserts nothing about time. CPU seconds of the process are printed beside wall seconds, since
other work on a shared machine inflates the wall clock.

    .venv/bin/python benchmarks/charts.py [REPEAT] [--db PATH]
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
def clocks():
    return time.perf_counter(), time.process_time()
w0, c0 = clocks()
import duckdb
from coalition_metrics import charts as C
from coalition_metrics.config import load_settings
w1, c1 = clocks()
settings = load_settings(None, environ={})
con = duckdb.connect(sys.argv[1], read_only=True)
quarter, repeat = sys.argv[2], int(sys.argv[3])
w, c = clocks(); first = C.report_charts(con, quarter=quarter, settings=settings); w2, c2 = clocks()
first_call = [w2 - w, c2 - c]
calls, queries = [], []
roles = dict(first_item=settings.instrument.satisfaction_item, second_item=settings.instrument.trust_item)
for _ in range(repeat):
    w, c = clocks(); C.report_charts(con, quarter=quarter, settings=settings); w3, c3 = clocks()
    calls.append((w3 - w, c3 - c))
    w, c = clocks()
    for name in C.CHART_IDS:
        C.chart_rows(con, name, quarter, **(roles if name == "satisfaction_trust" else {}))
    w3, c3 = clocks()
    queries.append((w3 - w, c3 - c))
med = lambda xs, i: statistics.median(x[i] for x in xs)
print(json.dumps({"import": [w1 - w0, c1 - c0], "first_call": first_call,
                  "calls": [med(calls, 0), med(calls, 1)], "queries": [med(queries, 0), med(queries, 1)],
                  "matplotlib": "matplotlib" in sys.modules,
                  "sizes": {ch["id"]: len(ch["svg"].encode()) for ch in first}}))
"""


def main() -> None:
    args = sys.argv[1:]
    db_arg = None
    if "--db" in args:
        i = args.index("--db")
        db_arg = args[i + 1]
        del args[i:i + 2]
    repeat = int(args[0]) if args else 9
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory() as tmp:
        if db_arg:
            db = Path(db_arg)
        else:
            from coalition_metrics.config import load_settings
            from coalition_metrics.pipeline import run_quarterly

            settings = load_settings(None, environ={}).with_overrides(output={"pdf": False})
            run = run_quarterly(settings, quarter=QUARTER, out=Path(tmp) / "out")
            db = run.folder.parent.parent / "coalition.duckdb"
        proc = subprocess.run([sys.executable, "-c", CHILD, str(db), QUARTER, str(repeat)], cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        fig = json.loads(proc.stdout.strip().splitlines()[-1])
    ms = lambda pair: f"{pair[0] * 1000:7.1f} ms wall, {pair[1] * 1000:7.1f} ms CPU"
    print(f"import duckdb + coalition_metrics.charts, cold process: {ms(fig['import'])}")
    print(f"report_charts, first call in the process (6 charts):  {ms(fig['first_call'])}")
    print(f"report_charts, median of {repeat} further calls:           {ms(fig['calls'])}")
    print(f"  of which the six chart-data queries:                {ms(fig['queries'])}")
    print(f"  drawing (the rest):                                 "
          f"{(fig['calls'][0] - fig['queries'][0]) * 1000:7.1f} ms wall, "
          f"{(fig['calls'][1] - fig['queries'][1]) * 1000:7.1f} ms CPU")
    print(f"matplotlib imported: {fig['matplotlib']}")
    total = sum(fig["sizes"].values())
    print("SVG sizes: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in fig["sizes"].items())
          + f" (total {total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
