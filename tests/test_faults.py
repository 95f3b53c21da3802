"""Faults at the process level: a run killed mid-way and resumed from its snapshot, two runs at
once on one output folder, and a run that cannot get the database in time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from coalition_metrics.config import load_settings
from coalition_metrics.runs import list_runs

COALITION = Path(sys.executable).parent / "coalition"
NO_PDFS = {"COALITION_OUTPUT_PDF": "false"}  # no test here opens a PDF


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COALITION_", "PREFECT_API"))}
    env.update(extra)
    return env


def _cli(*args, cwd, **extra):
    return subprocess.run([str(COALITION), *args], cwd=cwd, env=_env(**extra), capture_output=True, text=True,
                          timeout=300)


def test_run_killed_after_its_snapshot_resumes_with_identical_outputs(tmp_path, example_run):
    out = tmp_path / "out"
    # A real process death (SIGKILL) as the database build starts: after extract, snapshot, validate.
    child = textwrap.dedent(f"""
        import os, signal
        from coalition_metrics import pipeline
        from coalition_metrics.config import load_settings
        pipeline.build_database = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        pipeline.run_quarterly(load_settings(None, environ={{}}), quarter="2026-Q3", out={str(out)!r})
    """)
    killed = subprocess.run([sys.executable, "-c", child], cwd=tmp_path, env=_env(), capture_output=True, timeout=120)
    assert killed.returncode == -9
    assert not (out / "2026-Q3").exists()  # nothing published

    (run,) = list_runs(out, load_settings(None, environ={}))
    assert run["status"] == "interrupted" and run["snapshot_id"]
    listed = _cli("runs", "--out", str(out), cwd=tmp_path)
    assert f"Resume: coalition run --from-snapshot {run['run_id']}" in listed.stdout

    # Resume through the Prefect flow (ephemeral server), from the dead run's snapshot.
    resumed = _cli("run", "--quarter", "2026-Q3", "--out", str(out), "--from-snapshot", run["run_id"], cwd=tmp_path,
                   **NO_PDFS)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    (folder,) = (out / "2026-Q3").glob("2026*")
    for name in ("funder_metrics.json", "funder_metrics.csv", "validation/quarantine.json"):
        assert (folder / name).read_bytes() == (example_run.folder / name).read_bytes(), name
    runs = list_runs(out, load_settings(None, environ={}))
    assert [r["status"] for r in runs] == ["succeeded", "interrupted"]
    assert runs[0]["snapshot_id"] == run["snapshot_id"]


def test_two_runs_at_once_take_turns_and_both_publish(tmp_path, example_run):
    out = tmp_path / "out"
    cmd = [str(COALITION), "run", "--no-prefect", "--quarter", "2026-Q3", "--out", str(out)]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=_env(**NO_PDFS), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert [r[2] for r in results] == [0, 0], [r[1][-1500:] for r in results]
    folders = sorted((out / "2026-Q3").glob("2026*"))
    assert len(folders) == 2
    for f in folders:
        assert (f / "funder_metrics.json").read_bytes() == (example_run.folder / "funder_metrics.json").read_bytes()
    runs = list_runs(out, load_settings(None, environ={}))
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert (out / "2026-Q3" / "LATEST").read_text().strip() in {r["run_id"] for r in runs}
    # the database is whole: one more read of every run and metric works
    import duckdb

    con = duckdb.connect(str(out / "coalition.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from marts.published_metrics where quarter = '2026-Q3'").fetchone()[0] > 90
    finally:
        con.close()


def test_a_run_that_cannot_get_the_database_stops_with_a_clear_message(tmp_path):
    from coalition_metrics.plan import plan_run
    from coalition_metrics.runlock import run_lock

    out = tmp_path / "out"
    holder = plan_run(load_settings(None, environ={}), "2026-Q3", out=out)
    with run_lock(holder):  # another run is building
        proc = _cli("run", "--no-prefect", "--quarter", "2026-Q3", "--out", str(out), cwd=tmp_path,
                    COALITION_OUTPUT_LOCK_TIMEOUT_SECONDS="1")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"is busy: run {holder.run_id} (quarterly-report 2026-Q3, pid {os.getpid()})" in proc.stderr
    assert "Nothing was published by this run" in proc.stderr
    assert not (out / "2026-Q3").exists()


@pytest.mark.parametrize("mode", ["prefect", "no-prefect"])
def test_a_run_past_its_time_limit_fails_clearly_and_publishes_nothing(tmp_path, mode):
    out = tmp_path / "out"
    flags = ["--no-prefect"] if mode == "no-prefect" else []
    proc = _cli("run", *flags, "--quarter", "2026-Q3", "--out", str(out), cwd=tmp_path,
                COALITION_ORCHESTRATION_FLOW_TIMEOUT_SECONDS="0.5")
    assert proc.returncode == 2, proc.stderr
    (run,) = list_runs(out, load_settings(None, environ={}))
    # The limit is checked between stages; the run takes longer than 0.5 s (importing Great
    # Expectations alone does), so it stops at the latest before it publishes: before it loads the
    # database when it waited for Great Expectations to validate, or after building when it
    # validated ahead of its answers (the `coalition` command, validate/ahead.py).
    stopped = re.search(rf"error: The quarterly-report run {run['run_id']} stopped before (\w+) after [0-9.]+ s: "
                        r"its limit is 0.5 s \(\[orchestration\] flow_timeout_seconds\)\. It was marked failed "
                        r"and nothing was published by it\.", proc.stderr)
    assert stopped and stopped.group(1) in {"snapshot", "validate", "load", "publish"}, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "2026-Q3").exists()
    assert run["status"] == "failed"
    assert "flow_timeout_seconds" in run["message"]
    if stopped.group(1) == "snapshot":
        assert "run it again" in proc.stderr
        return
    # Stopped after its snapshot: the hint names the resume, and the resume publishes.
    assert f"--from-snapshot {run['run_id']}" in proc.stderr
    resumed = _cli("run", "--no-prefect", "--quarter", "2026-Q3", "--out", str(out), "--from-snapshot",
                   run["run_id"], cwd=tmp_path, **NO_PDFS)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "2026-Q3" / "LATEST").exists()
