"""Benchmark: extract -> snapshot -> validate -> load of the example coalition and of a scaled-up copy.

The scaled copy repeats the example's CSV rows ``SCALE`` times with new ids (members, meetings,
tasks and goals get a suffix ``-<copy>``, organizations ``#<copy>``, so every reference still
resolves and the example's bad rows are repeated as bad rows), written to a git-ignored folder
(bench_data/scale-<SCALE>/). For each, prints the seconds of each stage and the peak memory (RSS)
of the process; Great Expectations' import is timed on its own (paid once per process). Asserts
nothing about time.

    .venv/bin/python benchmarks/validate_scale.py [SCALE ...]     # default: 1 100
    .venv/bin/python benchmarks/validate_scale.py 1000            # 1.3M attendance rows

(benchmarks/generate.py is the portfolio generator; this script only scales the one example.)
"""

from __future__ import annotations

import csv
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

EXAMPLE = ROOT / "examples" / "riverside" / "csv"
READ_ON = date(2026, 10, 5)
# The id columns of each tab, and how a copy renames them.
IDS = {
    "members": ("member_id",), "meetings": ("meeting_id", "facilitator_id"),
    "attendance": ("meeting_id", "member_id"), "tasks": ("task_id", "owner_id", "accountable_id", "goal_id"),
    "goals": ("goal_id",), "goal_measurements": ("goal_id",), "milestones": (), "survey": (),
}


def scaled_folder(scale: int) -> Path:
    """The example's CSV folder repeated ``scale`` times (copy 0 keeps the example's ids)."""
    if scale == 1:
        return EXAMPLE
    folder = ROOT / "bench_data" / f"scale-{scale}"
    if (folder / ".complete").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(EXAMPLE.glob("*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header, *rows = list(csv.reader(fh))
        at = {h: i for i, h in enumerate(header)}
        with (folder / path.name).open("w", newline="", encoding="utf-8") as out:
            w = csv.writer(out)
            w.writerow(header)
            for c in range(scale):
                def sfx(v: str) -> str:
                    return v if c == 0 or not v.strip() else f"{v.strip()}-{c}"

                for row in rows:
                    row = list(row)
                    for col in IDS.get(path.stem, ()):
                        if col in at and at[col] < len(row):
                            row[at[col]] = sfx(row[at[col]])
                    if path.stem == "members" and c:
                        row[at["organization"]] = f"{row[at['organization']]} #{c}"
                    if path.stem == "milestones" and c and "member_ids" in at:
                        row[at["member_ids"]] = ";".join(sfx(m) for m in row[at["member_ids"]].split(";"))
                    if path.stem == "survey" and c:
                        j = next(i for h, i in at.items() if h.strip().casefold() in ("organization", "respondent",
                                                                                          "your organization"))
                        row[j] = f"{row[j]} #{c}" if not row[j].startswith("M") else sfx(row[j])
                    w.writerow(row)
    (folder / ".complete").touch()
    return folder


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(scale: int) -> None:
    from coalition_metrics.config import load_settings
    from coalition_metrics.errors import BlockingValidationError
    from coalition_metrics.load import connect, load_snapshot_tables
    from coalition_metrics.snapshot import take_snapshot
    from coalition_metrics.sources.csv_folder import CsvFolderSource
    from coalition_metrics.validate import validate_snapshot

    folder = scaled_folder(scale)
    settings = load_settings(None, environ={})
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t, c = time.perf_counter(), time.process_time()
        tabs = CsvFolderSource(folder).read_tabs(settings.tabs)
        times["extract"] = time.perf_counter() - t
        cpu["extract"] = time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        snap = take_snapshot(tabs, Path(tmp) / "snapshots", READ_ON)
        times["snapshot"] = time.perf_counter() - t
        cpu["snapshot"] = time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        try:
            validation = validate_snapshot(snap.tabs, settings, READ_ON)
        except BlockingValidationError as err:
            print(f"scale {scale}: blocked: {err}")
            return
        times["validate"] = time.perf_counter() - t
        cpu["validate"] = time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        con = connect(Path(tmp) / "bench.duckdb")
        load_snapshot_tables(con, snap, validation, settings)
        con.close()
        times["load"] = time.perf_counter() - t
        cpu["load"] = time.process_time() - c
    rows = validation.tabs["attendance"].rows_read
    split = ", ".join(f"{k} {v:.2f} s ({cpu[k]:.2f} s CPU)" for k, v in times.items())
    print(f"scale {scale:>5}: {rows:>9,} attendance rows, {len(validation.quarantined):,} quarantined; {split}; "
          f"peak {peak_mib() / 1024:.2f} GiB")


def main() -> None:
    scales = [int(a) for a in sys.argv[1:]] or [1, 100]
    t = time.perf_counter()
    import great_expectations  # noqa: F401

    print(f"import great_expectations: {time.perf_counter() - t:.2f} s (once per process)")
    for scale in scales:
        run(scale)


if __name__ == "__main__":
    main()
