"""Great Expectations in its own process (validate/gx_process.py): the `coalition` command forks it
as it starts, so the import overlaps the run's own work. What it finds must be exactly what the
command's own process finds: the same quarantined cells, checks and accepted rows; a process
that dies or a batch too large to send is validated in the command's process instead."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from coalition_metrics.config import load_settings
from coalition_metrics.pipeline import extract
from coalition_metrics.validate import gx_process, validate_snapshot

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 24)


def hostile_sheet(tmp_path: Path) -> Path:
    """The example with rows that fail several kinds of expectation (a bad date, an unknown
    member, an answer off the scale, a repeated id, an unknown enumeration value)."""
    sheet = tmp_path / "sheet"
    shutil.copytree(ROOT / "examples" / "riverside" / "csv", sheet)
    edits = {
        "meetings.csv": lambda rows: rows + ["MTG-X1,2026-13-40,weekly_call,,", "MTG-X2,2026-08-05,brunch,,"],
        "attendance.csv": lambda rows: rows + ["MTG-X2,NOBODY,present", rows[1]],
    }
    for name, edit in edits.items():
        path = sheet / name
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return sheet


def digest(validation) -> dict:
    out = {}
    for name, t in validation.tabs.items():
        accepted = None if t.accepted is None else t.accepted.to_dict("list")
        out[name] = (t.rows_read, t.blank_rows, t.accepted_rows, [vars(q) for q in t.quarantined], t.checks,
                     repr(accepted))
    return out


@pytest.fixture
def settings(tmp_path):
    return load_settings(None, environ={}).with_overrides(source={"location": str(hostile_sheet(tmp_path))})


@pytest.fixture
def worker():
    assert gx_process.start()
    yield gx_process._worker
    gx_process.stop()


def test_the_other_process_finds_what_this_one_finds(settings, worker):
    tabs = extract(settings)
    here = digest(validate_snapshot(tabs, settings, TODAY))  # before the worker answers: this process
    sent = []
    real = gx_process.GxProcess.validate

    def counted(self, *args):
        sent.append(args[2])
        return real(self, *args)

    gx_process.GxProcess.validate = counted
    try:
        gx_process._worker = worker
        there = digest(validate_snapshot(tabs, settings, TODAY))
    finally:
        gx_process.GxProcess.validate = real
    assert len(sent) == 3  # the three stages' batches went to the other process
    assert gx_process.running()
    assert there == here
    quarantined = sum(len(v[3]) for v in here.values())
    assert quarantined >= 5  # the hostile rows were found by both


def test_a_process_that_died_is_replaced_by_this_one(settings, worker, monkeypatch):
    tabs = extract(settings)
    gx_process.stop()
    here = digest(validate_snapshot(tabs, settings, TODAY))
    assert gx_process.start()
    dead = gx_process._worker
    dead.proc.kill()
    dead.proc.join()
    there = digest(validate_snapshot(tabs, settings, TODAY))
    assert not gx_process.running()  # it was dropped at the first batch, and this process validated
    assert there == here


def test_a_large_batch_is_validated_here_and_the_process_stopped(settings, worker, monkeypatch):
    monkeypatch.setattr(gx_process, "MAX_CELLS", 0)
    proc = worker.proc
    tabs = extract(settings)
    result = validate_snapshot(tabs, settings, TODAY)
    assert not gx_process.running()
    proc.join(timeout=10)
    assert not proc.is_alive()
    assert sum(len(t.quarantined) for t in result.tabs.values()) >= 5


CONSOLE = "import sys; from coalition_metrics.cli import console; sys.argv[0] = 'coalition'; console()"


def command(tmp_path: Path, code: str, args: list[str]) -> subprocess.CompletedProcess:
    """``code`` (the console command, or the command's main without it) run with ``args`` in a new
    process with a clean environment."""
    env = {"PATH": "/usr/bin:/bin", "COALITION_CONFIG": "", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)


def test_the_command_validates_through_it(tmp_path):
    """`coalition validate` (the console command, which forks the process) lists the same problems
    as the command run in a test's process (no other process)."""
    sheet = hostile_sheet(tmp_path)
    args = ["validate", "--source", str(sheet), "--out", str(tmp_path / "out"), "--format", "csv"]
    own = command(tmp_path, CONSOLE, args)
    plain = command(tmp_path, "import sys; from coalition_metrics.cli import main; sys.exit(main(sys.argv[1:]))", args)
    assert own.returncode == plain.returncode == 1, own.stderr
    assert own.stdout == plain.stdout
    assert own.stdout.count("\n") >= 6
    assert left_behind(sheet) == []


def left_behind(sheet: Path) -> list[int]:
    """Processes still running whose command line names ``sheet`` (a forked child keeps its parent's)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(sheet).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def test_a_command_stopped_by_a_blocking_problem_leaves_nothing_behind(tmp_path):
    """The tab check stops `coalition validate` before any suite runs, while the other process is
    still importing: the command ends at once, and so does that process."""
    sheet = hostile_sheet(tmp_path)
    (sheet / "members.csv").unlink()
    done = command(tmp_path, CONSOLE, ["validate", "--source", str(sheet), "--out", str(tmp_path / "out")])
    assert done.returncode == 2
    assert "Tab 'members' is missing" in done.stderr
    assert left_behind(sheet) == []


PROBE = """
import json, sys
from datetime import date
from pathlib import Path
assert "sqlalchemy" not in sys.modules, "the command's modules imported sqlalchemy before the fork"
from coalition_metrics.config import load_settings
from coalition_metrics.pipeline import extract
from coalition_metrics.validate import gx_process, suites, validate_snapshot

marker = Path(sys.argv[2])
real_context = suites.gx_context


def probed():
    context = real_context()
    marker.write_text(json.dumps({"sqlalchemy": sorted(m for m in sys.modules if m.split(".")[0] == "sqlalchemy"),
                                  "google": sorted(m for m in sys.modules if m.split(".")[0] == "google"),
                                  "duckdb": "duckdb" in sys.modules}))
    return context


suites.gx_context = probed  # the other process is forked with it
settings = load_settings(None, environ={}).with_overrides(source={"location": sys.argv[1]})
tabs = extract(settings)
assert gx_process.start()
there = validate_snapshot(tabs, settings, date(2026, 11, 24))
gx_process.stop()
suites.gx_context = real_context
import sqlalchemy  # imported first (as a Prefect flow's process has it), Great Expectations imports with it
here = validate_snapshot(tabs, settings, date(2026, 11, 24))  # this process
from great_expectations.compatibility import sqlalchemy as gx_sql
assert gx_sql.sqlalchemy is sqlalchemy  # this process's GX has its SQL backend


def digest(v):
    return {n: (t.accepted_rows, [vars(q) for q in t.quarantined], t.checks,
                None if t.accepted is None else repr(t.accepted.to_dict("list"))) for n, t in v.tabs.items()}


print(json.dumps({"same": digest(there) == digest(here),
                  "quarantined": sum(len(t.quarantined) for t in here.tabs.values())}))
"""


def test_the_process_imports_great_expectations_without_the_sql_backends_and_finds_the_same(tmp_path):
    """The other process makes sqlalchemy (installed for Prefect; 1.5 s of Great Expectations' 3.7 s
    import) unimportable before it imports Great Expectations, which then leaves its SQL data sources
    out, as on a machine without them. Its quarantined cells, checks and accepted rows are those of a
    process that imported Great Expectations with sqlalchemy."""
    import json

    sheet = hostile_sheet(tmp_path)
    marker = tmp_path / "marker.json"
    done = command(tmp_path, PROBE, [str(sheet), str(marker)])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"same": True, "quarantined": result["quarantined"]} and result["quarantined"] >= 5
    probe = json.loads(marker.read_text())
    # nor Google's client libraries (suites.GX_LEFT_OUT), nor DuckDB (imported by the command's
    # process after the fork)
    assert probe == {"sqlalchemy": [], "google": [], "duckdb": False}


def test_the_command_sets_the_garbage_collector_before_its_imports():
    """`coalition` sets collector.THRESHOLD first thing (the imports alone cost Python's default
    collector hundreds of passes); the Great Expectations process is forked from it and keeps it."""
    from coalition_metrics.collector import THRESHOLD

    probe = ("import atexit, gc, sys; atexit.register(lambda: print('threshold', gc.get_threshold())); "
             "from coalition_metrics.cli import console; sys.argv = ['coalition', '--help']; console()")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"threshold {THRESHOLD}"


def test_nothing_is_left_out_while_another_thread_may_import_it():
    """deferred.left_out blocks an import only in a single-threaded process: with another thread
    running (a Dask worker's, google-auth's), that thread could import the name in the meantime."""
    import sys
    import threading

    from coalition_metrics.deferred import left_out

    name = "coalition_probe_never_imported"
    with left_out((name,)):
        blocked = name in sys.modules and sys.modules[name] is None
    assert name not in sys.modules
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with left_out((name,)):
            assert name not in sys.modules
    finally:
        stop.set()
        other.join()
    assert blocked == (threading.active_count() == 1)


def test_an_expectation_that_could_not_run_is_reported_as_such():
    """A metric Great Expectations cannot compute (values it cannot compare with a bound) is reported
    under the metric's id, with no failing row and the expectation failed: validate_here passes the
    error on, where it once read as a rule every row passes."""
    import numpy as np
    import pandas as pd

    stacked = pd.DataFrame({"v": pd.Series(["a", 3, None], dtype=object), "stacked": np.arange(3)})
    spec = ("expect_column_values_to_be_between", {"column": "v", "min_value": 1, "max_value": 5}, {"stack": 0})
    ((stack, raised, rows),) = gx_process.validate_here(stacked, [spec], "mixed")
    assert (stack, rows) == (0, [])
    assert raised == {"exception_message": "Column values, min_value, and max_value must either be None or of "
                                           "the same type."}


def test_a_rule_great_expectations_cannot_check_stops_the_run_naming_it():
    """Rules of one type and arguments are checked as one expectation (suites.run_suites), so the
    error names each rule of it."""
    import pandas as pd

    from coalition_metrics.errors import ConfigError
    from coalition_metrics.validate.suites import run_suites

    frame = pd.DataFrame({"sheet_row": [2, 3], "name": ["Ann", "Bo"], "score__value": [1.0, 9.0]})
    suite = {"expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "score__value", "min_value": 1,
                                                                   "max_value": 5}, "meta": {}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "name", "min_value": 1, "max_value": 5},
         "meta": {}}]}
    with pytest.raises(ConfigError) as stopped:
        run_suites([("members", frame, suite)])
    assert str(stopped.value) == (
        "Great Expectations could not check the rule expect_column_values_to_be_between on members.name, "
        "members.score__value: Column values, min_value, and max_value must either be None or of the same type. "
        "Correct its arguments in "
        "expectations/members.json (a bound or value of the column's own type), then run again; no row was "
        "checked by it.")
    ((failures, _checks),) = run_suites([("members", frame, {"expectations": suite["expectations"][:1]})])
    assert [(f[0], f[2]) for f in failures] == [(1, "score__value")]  # the valid rule alone runs


def test_rows_padding_a_stack_are_no_record_even_when_they_fail():
    """Small stacks run in one call, padded to the longest with values that pass most rules; a pair
    rule that checks missing values too (ignore_row_if "neither") fails on the padding, which is no
    record of any tab (it once stopped the run with an IndexError)."""
    import pandas as pd

    from coalition_metrics.validate.suites import run_suites

    short = pd.DataFrame({"sheet_row": [2, 3], "a": [2.0, 1.0], "b": [1.0, 1.0]})
    long = pd.DataFrame({"sheet_row": [2, 3, 4, 5, 6], "name": ["x", None, "y", "z", None]})
    pair = {"expectations": [{"type": "expect_column_pair_values_a_to_be_greater_than_b",
                              "kwargs": {"column_A": "a", "column_B": "b", "ignore_row_if": "neither"}, "meta": {}}]}
    blank = {"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "name"},
                               "meta": {}}]}
    (pair_failures, _), (blank_failures, _) = run_suites([("goals", short, pair), ("members", long, blank)])
    assert [f[0] for f in pair_failures] == [1]  # 1.0 > 1.0 fails; the three padded rows are no record
    assert [f[0] for f in blank_failures] == [1, 4]


def test_arguments_great_expectations_refuses_stop_the_run_naming_the_rule():
    import pandas as pd

    from coalition_metrics.errors import ConfigError
    from coalition_metrics.validate.suites import run_suites

    frame = pd.DataFrame({"sheet_row": [2, 3], "a": [2.0, 1.0], "b": [1.0, 1.0]})
    suite = {"expectations": [{"type": "expect_column_pair_values_a_to_be_greater_than_b",
                               "kwargs": {"column_A": "a", "column_B": "b", "ignore_row_if": "sometimes"},
                               "meta": {}}]}
    with pytest.raises(ConfigError, match=r"could not check the rule expect_column_pair_values_a_to_be_greater_than_b "
                                          r"on tasks\.a: .*ignore_row_if.*Correct its arguments in "
                                          r"expectations/tasks\.json"):
        run_suites([("tasks", frame, suite)])
