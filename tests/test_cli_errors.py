"""What a person sees at the command line: fast help, one-paragraph errors, no tracebacks."""

import os
import subprocess
import sys
import time
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


def test_help_answers_quickly_without_heavy_imports():
    code = ("import sys, time; t = time.perf_counter(); from coalition_metrics.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('prefect', 'great_expectations', 'duckdb', 'pandas') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip().endswith("[]")
    best = min(_timed([str(COALITION), "--help"]) for _ in range(3))
    assert best < 0.5, f"coalition --help took {best:.2f} s"


def _timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True, timeout=60)
    return time.perf_counter() - t


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
