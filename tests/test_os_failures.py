"""OS-level failures through the real `coalition` CLI: each is one paragraph that says what to do,
exit status 2, and no traceback. Full disks are real: a tiny tmpfs mounted where the snapshot,
database or run folder is written (needs root and mount; skipped otherwise), and a file-size limit
(RLIMIT_FSIZE, which works for any user)."""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from test_cli_errors import BAD_INPUTS_BASE, COALITION, assert_one_paragraph_error, run_cli


def one_paragraph(proc, *needles):
    assert_one_paragraph_error(proc, *needles)
    message = proc.stderr[proc.stderr.index("error: "):].strip()
    assert "\n" not in message, message  # one paragraph


@contextmanager
def tmpfs(path: Path, size: str, read_only: bool = False):
    """A real small (or read-only) file system at ``path``; the test is skipped where mounting is
    not allowed (not root, or no CAP_SYS_ADMIN)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    opts = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


# ---- the output folder -----------------------------------------------------------------------
def test_out_is_a_file(tmp_path):
    (tmp_path / "report.txt").write_text("not a folder")
    proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--out", "report.txt", cwd=tmp_path)
    one_paragraph(proc, f"The output folder {tmp_path / 'report.txt'} is a file, not a folder", "--out")
    proc = run_cli("validate", "--source", str(BAD_INPUTS_BASE), "--out", "report.txt", cwd=tmp_path)
    one_paragraph(proc, "is a file, not a folder")


def test_out_is_a_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    if os.geteuid() == 0:  # root writes through permissions: a read-only file system it is
        ctx = tmpfs(ro, "1m", read_only=True)
    else:
        ro.mkdir()
        ro.chmod(0o555)
        ctx = contextmanager(lambda: (yield ro))()
    with ctx:
        proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--out", str(ro), cwd=tmp_path)
        one_paragraph(proc, f"Preparing the output folder {ro} failed", "give a folder you can write with --out")
        assert "tmp" not in proc.stderr.split("failed:")[1].split(".")[0]  # no probe file named
        proc = run_cli("validate", "--source", str(BAD_INPUTS_BASE), "--out", str(ro / "sub"), cwd=tmp_path)
        one_paragraph(proc, "give a folder you can write with --out")


# ---- full disks ------------------------------------------------------------------------------
def test_disk_full_while_writing_the_snapshot(tmp_path):
    with tmpfs(tmp_path / "small", "64k") as out:
        proc = run_cli("validate", "--out", str(out), cwd=tmp_path)  # the example's snapshot is ~110 KB
        one_paragraph(proc, f"Writing the snapshot to {out / 'snapshots'} failed: No space left on device",
                      "The disk is full")
        assert [p.name for p in (out / "snapshots").iterdir()] == []  # no partial snapshot left


def test_disk_full_while_writing_the_database(tmp_path):
    out = tmp_path / "out"
    with tmpfs(out, "2m"), tmpfs(out / "snapshots", "8m"):  # room for the snapshot, not the database
        proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--out", str(out), cwd=tmp_path)
        one_paragraph(proc, f"Writing the database {out / 'coalition.duckdb'} failed", "No space left on device",
                      "The disk is full")
        assert not (out / "2026-Q3").exists()


def test_disk_full_while_writing_the_run_folder(tmp_path):
    out = tmp_path / "out"
    with tmpfs(out / "2026-Q3", "64k"):  # the report alone is larger
        proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--out", str(out), cwd=tmp_path)
        one_paragraph(proc, f"Writing the run folder {out / '2026-Q3'}/", "No space left on device",
                      "The disk is full")
        assert sorted(p.name for p in (out / "2026-Q3").iterdir()) == []  # nothing partial, no LATEST
    runs = run_cli("runs", "--out", str(out), cwd=tmp_path)
    assert " failed " in runs.stdout and "No space left on device" in runs.stdout


def test_disk_full_on_the_prefect_path_is_one_paragraph_too(tmp_path):
    """`coalition run` runs the Prefect flow by default: Prefect's own log lines must not add a
    traceback (or repeat the failure) around the CLI's paragraph."""
    out = tmp_path / "out"
    with tmpfs(out / "2026-Q3", "64k"):
        proc = run_cli("run", "--quarter", "2026-Q3", "--out", str(out), cwd=tmp_path)
        assert_one_paragraph_error(proc, f"Writing the run folder {out / '2026-Q3'}/", "No space left on device")
        paragraph = proc.stderr[proc.stderr.index("error: "):].split("\n")[0]
        assert paragraph.endswith("and run again."), proc.stderr
        # what follows it is Prefect stopping its temporary server, and no leak report from DuckDB
        assert [line for line in proc.stderr[proc.stderr.index("error: "):].splitlines()[1:]
                if "Stopping temporary server" not in line] == []
        assert "StorageError" not in proc.stdout + proc.stderr and "OSError" not in proc.stdout + proc.stderr


def _file_size_limit(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_file_size_limit_while_writing_the_snapshot(tmp_path):
    """A real write failure for any user: the attendance tab's snapshot file (~60 KB) is larger
    than the limit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COALITION_")}
    proc = subprocess.run([str(COALITION), "validate", "--out", "out"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, preexec_fn=_file_size_limit(20_000))
    one_paragraph(proc, f"Writing the snapshot to {tmp_path / 'out' / 'snapshots'} failed: File too large",
                  "file-size limit")


# ---- files where folders belong, and the other way round ---------------------------------------
def test_a_folder_where_a_tab_file_should_be(tmp_path, example_copy):
    (example_copy / "members.csv").unlink()
    (example_copy / "members.csv").mkdir()
    for command in ("run", "validate"):
        extra = ("--no-prefect",) if command == "run" else ()
        proc = run_cli(command, *extra, "--source", str(example_copy), "--out", "out", cwd=tmp_path)
        one_paragraph(proc, f"{example_copy / 'members.csv'} is a folder, but the tab 'members' should be a CSV file")


# ---- a damaged database ----------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database(tmp_path, example_run, damage):
    out = tmp_path / "out"
    out.mkdir()
    db = out / "coalition.duckdb"
    source_db = example_run.folder.parent.parent / "coalition.duckdb"
    if damage == "garbage":
        db.write_bytes(os.urandom(50_000))
    else:
        db.write_bytes(source_db.read_bytes()[:100_000])
    for args in (("run", "--no-prefect", "--quarter", "2026-Q3"), ("runs",), ("explain", "attendance_rate")):
        proc = run_cli(*args, "--out", str(out), cwd=tmp_path)
        one_paragraph(proc, f"The database {db} is damaged", f"mv {db} {db}.damaged")
    assert not (out / "2026-Q3").exists()


# ---- a damaged snapshot ----------------------------------------------------------------------
def test_replaying_a_damaged_snapshot_is_a_clear_error(tmp_path, example_run):
    out = tmp_path / "out"
    shutil.copytree(example_run.folder.parent.parent, out)
    snap = out / "snapshots" / example_run.manifest["snapshot"]["id"]
    (snap / "tasks.json").unlink()
    proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--out", str(out), "--from-snapshot",
                   example_run.run_id, cwd=tmp_path)
    one_paragraph(proc, f"Snapshot {snap} is damaged: tasks.json is missing", "without --from-snapshot")
    members = snap / "members.json"
    members.chmod(0o644)
    members.write_text(members.read_text().replace("M01", "M99", 1))
    proc = run_cli("run", "--no-prefect", "--quarter", "2026-Q3", "--out", str(out), "--from-snapshot",
                   example_run.manifest["snapshot"]["id"][:10], cwd=tmp_path)
    one_paragraph(proc, f"Snapshot {snap} is damaged: members.json was altered since it was taken")


# ---- credentials and config files ---------------------------------------------------------------
@pytest.mark.parametrize("content,kind", [("[1, 2]", "list"), ('"service_account"', "string")])
def test_credentials_json_that_is_not_an_object(tmp_path, content, kind):
    key = tmp_path / "key.json"
    key.write_text(content)
    url = "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG/edit"
    proc = run_cli("run", "--no-prefect", "--source", url, "--out", "out", cwd=tmp_path,
                   env_extra={"GOOGLE_APPLICATION_CREDENTIALS": str(key)})
    one_paragraph(proc, f"The credentials file {key} holds JSON, but not a key", f"this file holds a {kind}")


def test_config_with_a_byte_order_mark_is_read(tmp_path):
    config = tmp_path / "coalition.toml"
    text = f'[coalition]\nname = "Harbor Food Alliance"\n[source]\nlocation = {json.dumps(str(BAD_INPUTS_BASE))}\n'
    config.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    proc = run_cli("validate", "--config", str(config), "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Every row passed." in proc.stderr


def test_config_that_is_not_utf8(tmp_path):
    config = tmp_path / "coalition.toml"
    config.write_bytes('[coalition]\nname = "Coalición del Río"\n'.encode("latin-1"))
    proc = run_cli("validate", "--config", str(config), "--out", "out", cwd=tmp_path)
    one_paragraph(proc, f"Config file {config} is not UTF-8 text", "Save it again as UTF-8")


# ---- the last resort -----------------------------------------------------------------------------
def test_an_unforeseen_os_error_is_still_one_paragraph(monkeypatch, capsys, tmp_path):
    """Any OSError that no stage turned into its own message: errno-based advice, exit 2."""
    from coalition_metrics import cli

    def runs_on_a_vanished_folder(args):
        os.rmdir(tmp_path / "gone")  # a real failing system call: ENOENT

    monkeypatch.setattr(cli, "cmd_runs", runs_on_a_vanished_folder)
    assert cli.main(["runs"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: coalition runs stopped: No such file or directory")
    assert "A file or folder is missing" in err and err.count("\n") == 1 and "Traceback" not in err


def test_os_advice_by_errno():
    from coalition_metrics.errors import os_advice

    assert "disk is full" in os_advice(OSError(errno.ENOSPC, "No space left on device"))
    for code in (errno.EACCES, errno.EPERM, errno.EROFS):
        assert "may not write there" in os_advice(OSError(code, "x"))
    assert "A folder is where a file is expected" in os_advice(OSError(errno.EISDIR, "x"))
    assert "A file is where a folder is expected" in os_advice(OSError(errno.ENOTDIR, "x"))
    assert "missing" in os_advice(OSError(errno.ENOENT, "x"))
    # a network error is an OSError too (requests' exceptions are IOErrors): never advice about the disk
    import requests

    for exc in (requests.exceptions.ChunkedEncodingError("Connection broken"), ConnectionResetError(104, "reset"),
                requests.exceptions.JSONDecodeError("Expecting value", "x", 0), TimeoutError("timed out")):
        assert "network request, not the disk" in os_advice(exc), exc
