"""Benchmark: validate 100,000 attendance rows (issue 4 goal: under 10 s on a 2-core machine).

Builds a synthetic coalition in memory - 200 members, 500 meetings, every member at every meeting
(100,000 attendance rows) with 1 in 1,000 rows defective - and times validate_snapshot, split into
the import of Great Expectations, the preparation of the frames and the suites' run. Prints figures;
asserts nothing about time.

    .venv/bin/python benchmarks/validate_100k.py [ROWS]
"""

from __future__ import annotations

import os
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def build(rows: int):
    from coalition_metrics.sources import RawTab

    n_members = 200
    n_meetings = -(-rows // n_members)
    members = [(i, [f"M{i:03d}", f"Org {i}", "nonprofit", "small", "2024-01-02", "", "member"])
               for i in range(2, n_members + 2)]
    start = date(2024, 1, 2)
    meetings = [(i + 2, [f"MT{i:04d}", (start + timedelta(days=i)).isoformat(), "weekly_call", "", "M002"])
                for i in range(n_meetings)]
    statuses = ("present", "present", "absent", "excused")
    att, r = [], 2
    for mt in range(n_meetings):
        for m in range(n_members):
            if len(att) == rows:
                break
            cells = [f"MT{mt:04d}", f"M{m + 2:03d}", statuses[(mt + m) % 4]]
            if r % 1000 == 0:
                cells[1] = "M999"  # unknown member: quarantined
            att.append((r, cells))
            r += 1
    return {
        "members": RawTab("members", "members", ["member_id", "organization", "sector", "size_tier", "joined_on", "left_on", "role"], members),
        "meetings": RawTab("meetings", "meetings", ["meeting_id", "date", "kind", "committee", "facilitator_id"], meetings),
        "attendance": RawTab("attendance", "attendance", ["meeting_id", "member_id", "status"], att),
    }


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    from coalition_metrics.config import load_settings

    settings = load_settings(None, environ={})
    tabs = build(rows)

    t0 = time.perf_counter()
    import great_expectations  # noqa: F401  (timed on its own: 2-3 s, paid once per process)
    t_import = time.perf_counter() - t0

    from coalition_metrics import validate as v

    timings = {}
    real_prepare, real_run = v.prepare_tab, v.run_suites

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    # validate_snapshot calls the names it imported into the package: time those
    v.prepare_tab, v.run_suites = timed("prepare", real_prepare), timed("suites", real_run)
    t1 = time.perf_counter()
    result = v.validate_snapshot(tabs, settings, today=date(2026, 11, 24))
    total = time.perf_counter() - t1
    att = result.tabs["attendance"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"attendance rows:            {att.rows_read:,}")
    print(f"accepted / quarantined:     {att.rows_accepted:,} / {att.rows_quarantined:,}")
    print(f"import great_expectations:  {t_import:.2f} s (once per process)")
    print(f"validate_snapshot total:    {total:.2f} s")
    print(f"  prepare (parse, derive):  {timings.get('prepare', 0):.2f} s")
    print(f"  GX suites + quarantine:   {timings.get('suites', 0):.2f} s (suites only)")
    print(f"total incl. GX import:      {total + t_import:.2f} s")
    print(f"peak memory (RSS):          {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
