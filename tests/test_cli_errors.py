"""What a person sees at the command line: fast help, one-paragraph errors, no tracebacks."""

import os
import subprocess
import sys
from pathlib import Path



COALITION = Path(sys.executable).parent / "coalition"


def run_cli(*args, cwd, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COALITION_")}
    env.update(env_extra or {})
    return subprocess.run([str(COALITION), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def assert_one_paragraph_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "\nerror: " in "\n" + proc.stderr  # Prefect may log its own INFO lines around it
    for n in needles:
        assert n in proc.stderr, proc.stderr


def test_help_imports_nothing_heavy():
    """`coalition --help` stays instant: no Prefect, GX, DuckDB or pandas import (timed in benchmarks/)."""
    code = ("import sys, time; t = time.perf_counter(); from coalition_metrics.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('prefect', 'great_expectations', 'duckdb', 'pandas') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip().endswith("[]")


def test_missing_required_column_names_tab_column_and_fix(example_copy, tmp_path):
    path = example_copy / "attendance.csv"
    text = path.read_text().replace("meeting_id,member_id,status", "meeting,member_id,status", 1)
    path.write_text(text)
    proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--source", str(example_copy), "--out", "out", cwd=tmp_path)
    assert_one_paragraph_error(proc, "Tab 'attendance' has no required column 'meeting_id'",
                               "The tab has a column 'meeting': rename it to 'meeting_id'")
    assert not (tmp_path / "out" / "2026-Q3").exists()  # nothing published


def test_empty_tab_is_blocking(example_copy, tmp_path):
    (example_copy / "meetings.csv").write_text("")
    proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--source", str(example_copy), "--out", "out", cwd=tmp_path)
    assert_one_paragraph_error(proc, "Tab 'meetings' is empty: it has no header row")


def test_header_only_required_tab_is_blocking(example_copy, tmp_path):
    (example_copy / "members.csv").write_text("member_id,organization,sector,size_tier,joined_on,left_on,role\n")
    proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--source", str(example_copy), "--out", "out", cwd=tmp_path)
    assert_one_paragraph_error(proc, "Tab 'members' has a header but no rows")


def test_missing_credentials_file_is_one_paragraph(tmp_path):
    url = "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG/edit"
    proc = run_cli("run", "--no-prefect", "--source", url, "--out", "out", cwd=tmp_path,
                   env_extra={"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing.json")})
    assert_one_paragraph_error(proc, f"The credentials file {tmp_path / 'missing.json'} does not exist")


def test_no_credentials_configured(tmp_path):
    proc = run_cli("run", "--no-prefect", "--source", "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG", "--out", "out",
                   cwd=tmp_path, env_extra={"GOOGLE_APPLICATION_CREDENTIALS": ""})
    assert_one_paragraph_error(proc, "No Google credentials configured", "service-account key")


def test_config_errors_are_clear(tmp_path):
    (tmp_path / "bad.toml").write_text("[source]\nlocaton = 'x'\n")
    assert_one_paragraph_error(run_cli("run", "--config", "bad.toml", cwd=tmp_path),
                               "unknown setting 'locaton' in [source]", "location")
    (tmp_path / "broken.toml").write_text("[source\n")
    assert_one_paragraph_error(run_cli("run", "--config", "broken.toml", cwd=tmp_path), "is not valid TOML")
    assert_one_paragraph_error(run_cli("run", "--config", "absent.toml", cwd=tmp_path), "absent.toml does not exist")


def test_bad_quarter_and_missing_source(tmp_path):
    assert_one_paragraph_error(run_cli("run", "--no-prefect", "--quarter", "Q3-2026", cwd=tmp_path), "write it like 2026-Q3")
    assert_one_paragraph_error(run_cli("run", "--no-prefect", "--source", "no/such/folder", cwd=tmp_path),
                               "does not exist")


def test_prefect_path_prints_the_error_once_without_traceback(example_copy, tmp_path):
    """The default `coalition run` goes through the Prefect flow; its logs must not bury the message."""
    path = example_copy / "attendance.csv"
    path.write_text(path.read_text().replace("meeting_id,member_id,status", "meeting,member_id,status", 1))
    proc = run_cli("run", "--quarter", "2026-Q3", "--source", str(example_copy), "--out", "out", cwd=tmp_path)
    assert_one_paragraph_error(proc, "Tab 'attendance' has no required column 'meeting_id'")
    assert (proc.stdout + proc.stderr).count("has no required column") == 1


BAD_INPUTS_BASE = Path(__file__).parent / "bad_inputs" / "base"


def test_validate_exit_0_when_every_row_passes(tmp_path):
    proc = run_cli("validate", "--source", str(BAD_INPUTS_BASE), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Every row passed." in proc.stderr
    counts = {l.split()[0]: l.split()[1:] for l in proc.stdout.splitlines()[3:] if l.strip()}
    assert counts["attendance"] == ["15", "0", "15", "0"] and counts["members"] == ["6", "0", "6", "0"]
    assert len(list((tmp_path / "out" / "snapshots").iterdir())) == 1  # extract + snapshot ran
    assert not (tmp_path / "out" / "coalition.duckdb").exists()  # nothing loaded or published


def test_validate_exit_1_lists_the_rows_to_fix(tmp_path):
    html = tmp_path / "dq.html"
    proc = run_cli("validate", "--out", str(tmp_path / "out"), "--html", str(html), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    header = next(i for i, l in enumerate(lines) if l.startswith("tab ") and "what to do" in l)
    info = lines.index("For information (nothing to fix; these rows are kept but not counted):")
    rows = [l.split()[:3] for l in lines[header + 2:info] if l.strip()]
    assert rows == [["attendance", "953", "member_id"], ["tasks", "21", "task_id"], ["tasks", "47", "due_on"],
                    ["survey", "24", "trust"]]
    # the planted second submission is information, listed apart: the latest one counts
    assert lines[info + 1].startswith("  survey row 27: 'Riverside Chamber of Commerce' answered again later")
    assert "4 rows to fix; with the rows that depend on them and superseded submissions, 5 rows would be set aside" \
        in proc.stderr
    assert "member id &#39;M11&#39; is not in the members tab" in html.read_text()
    csv_proc = run_cli("validate", "--out", str(tmp_path / "out"), "--format", "csv", cwd=tmp_path)
    assert csv_proc.stdout.splitlines()[0] == "tab,sheet_row,column,value,reason,fix,expectation,scope"
    assert len(csv_proc.stdout.splitlines()) == 6


def test_validate_exit_2_still_lists_rows_when_too_many_are_bad(example_copy, tmp_path):
    path = example_copy / "milestones.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0]] + [l.replace("quick_win", "quick win!") .replace("media", "press") for l in lines[1:]]) + "\n")
    proc = run_cli("validate", "--source", str(example_copy), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_paragraph_error(proc, "Tab 'milestones': 4 of 7 rows (57%) failed checks")
    assert "milestones  2    kind" in proc.stdout  # the rows to fix are printed all the same


def test_validate_exit_2_on_a_missing_column(example_copy, tmp_path):
    path = example_copy / "meetings.csv"
    path.write_text(path.read_text().replace("meeting_id,date,kind", "meeting_id,date,type", 1))
    proc = run_cli("validate", "--source", str(example_copy), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_paragraph_error(proc, "Tab 'meetings' has no required column 'kind'")


def test_template_xlsx_writes_a_workbook_and_never_overwrites(tmp_path):
    proc = run_cli("template", "--xlsx", str(tmp_path / "records.xlsx"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "records.xlsx").stat().st_size > 10_000
    again = run_cli("template", "--xlsx", str(tmp_path / "records.xlsx"), cwd=tmp_path)
    assert_one_paragraph_error(again, "already exists; the template never overwrites a file")


def test_explain_prints_definition_and_the_latest_runs_values(example_run, tmp_path):
    out = example_run.folder.parent.parent
    proc = run_cli("explain", "item_mean[trust]", "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "item_mean[trust]: Item mean" in proc.stdout
    assert "transforms/marts/survey_items_by_wave.sql" in proc.stdout
    lines = [l.split() for l in proc.stdout.splitlines() if l.strip().startswith("item_mean[trust]  ")]
    assert lines[1][1:] == ["2025-Q1", "n<5", "(suppressed)", "n=4"]
    assert lines[-1][1:] == ["2026-Q3", "3.12", "n=8"]
    unknown = run_cli("explain", "attendence_rate", "--out", str(out), cwd=tmp_path)
    assert_one_paragraph_error(unknown, "No metric 'attendence_rate'. Known ids: meetings_held")


def patched_command(script: str, *args, cwd):
    """The `coalition` command (cli.console, as its entry point calls it) with ``script`` run first
    in its process (to patch what the test needs), and its argv ``args``. Ctrl-C raises
    KeyboardInterrupt there, as in a terminal: a process started in the background (CI's) inherits
    SIGINT ignored, and a test of Ctrl-C would then see nothing or wait forever."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COALITION_")}
    code = ("import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
            f"{script}\nimport sys\nsys.argv = ['coalition', *{list(args)!r}]\n"
            "from coalition_metrics.cli import console\nconsole()\n")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_ctrl_c_during_a_database_query_is_reported_as_an_interruption(example_copy, tmp_path):
    """DuckDB takes the Ctrl-C that lands in a query and raises RuntimeError("Query interrupted"),
    which run_models wraps with the model's name: the command said 'error' with a traceback and
    exit code 1. It is an interruption (130) like one anywhere else, and nothing is published."""
    slow = tmp_path / "staging" / "stg_slow.sql"
    slow.parent.mkdir()
    slow.write_text("select count(*) as n from range(100000000) as a, range(1000) as b\n")  # 15 s uninterrupted
    script = f"""
import os, signal, threading
from pathlib import PosixPath
from coalition_metrics import transform

class Slow(PosixPath):
    def read_text(self, *a, **k):  # read just before its query runs: Ctrl-C half a second into it
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        return super().read_text(*a, **k)

real = transform.model_files
transform.model_files = lambda layers=transform.LAYERS: [*real(layers), ("staging.stg_slow", Slow({str(slow)!r}))]
"""
    proc = patched_command(script, "run", "--no-prefect", "--no-write-back", "--quarter", "2026-Q3", "--source",
                           str(example_copy), "--out", "out", cwd=tmp_path)
    assert proc.returncode == 130, proc.stderr
    assert "interrupted; nothing was published by this run" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not list((tmp_path / "out" / "2026-Q3").glob("2*"))  # no run folder


def test_ctrl_c_after_a_run_published_keeps_its_result(example_copy, tmp_path):
    """Once the command has its result, a Ctrl-C while Great Expectations' process is stopped (a
    helper's finding: a published run then ended with a traceback and exit code 130) is ignored."""
    script = """
import os, signal, time
from coalition_metrics.validate import gx_process

real_stop = gx_process.stop

def stop(now=False):
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the process is being stopped
    time.sleep(0.2)
    real_stop(now)

gx_process.stop = stop
"""
    proc = patched_command(script, "run", "--no-prefect", "--no-write-back", "--quarter", "2026-Q3", "--source",
                           str(example_copy), "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    (folder,) = (tmp_path / "out" / "2026-Q3").glob("2*")
    assert (folder / "manifest.json").is_file() and "funder metrics:" in proc.stdout
