"""Integration: a real Prefect server on loopback (started by coalition_metrics.prefect_server, as
`make server` does), `coalition serve` registering both deployments, the server's own scheduler
creating the quarterly runs (calendar and fiscal year), a refresh triggered through the REST API,
waited for, and checked (funder outputs on disk and the run's artifacts), and serve stopping on
SIGTERM/SIGINT after its server is gone."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from coalition_metrics.prefect_server import LocalServer, free_port, server_env

ROOT = Path(__file__).resolve().parent.parent
COALITION = Path(sys.executable).parent / "coalition"

# Prefect 3.8 server settings (prefect/settings/models/server/services.py): the scheduler loop runs
# every 2 s instead of 60, and schedules the next 4 runs (a quarterly cron needs about a year; by
# default it schedules at most 100 days ahead).
SCHEDULER = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    "PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "4",
    "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": "P400D",
}


def _wait(predicate, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _start_serve(server: LocalServer, config: Path, log: Path) -> subprocess.Popen:
    env = server_env(server.home, {"PREFECT_API_URL": server.api_url})
    env = {k: v for k, v in env.items() if not k.startswith("COALITION_")}
    return subprocess.Popen([str(COALITION), "serve", "--config", str(config)], cwd=config.parent, env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _serving(tmp: Path, settings: str):
    """A Prefect server (scheduler sped up) and `coalition serve` with the given config settings."""
    config = tmp / "coalition.toml"
    config.write_text(f'[output]\nfolder = "{tmp / "out"}"\n\n{settings}')
    server = LocalServer(tmp / "prefect-home", settings=SCHEDULER).start()
    serve = _start_serve(server, config, tmp / "serve.log")
    api = httpx.Client(base_url=server.api_url, timeout=30)
    try:
        def both_registered():
            names = {d["name"] for d in _call(api, "POST", "/deployments/filter", json={})}
            return names >= {"quarterly-report", "refresh-funder-metrics"}
        _wait(both_registered, 120, "coalition serve to register both deployments")
        yield {"api": api, "config": config, "out": tmp / "out", "log": tmp / "serve.log", "server": server,
               "serve": serve, "tmp": tmp}
    finally:
        api.close()
        _end(serve)
        server.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Calendar quarters in Chicago; output to a temp folder."""
    yield from _serving(tmp_path_factory.mktemp("served"), '[orchestration]\ntimezone = "America/Chicago"\n')


@pytest.fixture(scope="module")
def served_fiscal(tmp_path_factory):
    """A fiscal year from February (quarters from Feb, May, Aug, Nov) in Sydney (summer time in
    Feb and Nov, not in May and Aug), on a second server."""
    yield from _serving(tmp_path_factory.mktemp("fiscal"), '[quarters]\nfiscal_year_start_month = 2\n\n'
                        '[orchestration]\ntimezone = "Australia/Sydney"\n')


def _call(api, method: str, url: str, **kwargs):
    """One API call, retried on 503/502/429 as Prefect's own client does: a SQLite-backed server
    answers 503 while its database is busy (the scheduler writes the quarterly runs meanwhile)."""
    for attempt in range(20):
        r = api.request(method, url, **kwargs)
        if r.status_code not in (429, 502, 503):
            break
        time.sleep(0.5 * (attempt + 1))
    r.raise_for_status()
    return r.json()


def _deployment(api, flow: str, name: str) -> dict:
    return _call(api, "GET", f"/deployments/name/{flow}/{name}")


def test_deployments_are_registered_with_schedule_and_parameters(served):
    api = served["api"]
    quarterly = _deployment(api, "quarterly-report", "quarterly-report")
    schedules = [s["schedule"] for s in quarterly["schedules"]]
    assert schedules == [{"cron": "0 6 1 1,4,7,10 *", "timezone": "America/Chicago", "day_or": True}]
    assert quarterly["parameters"] == {"config": str(served["config"])}
    assert set(quarterly["parameter_openapi_schema"]["properties"]) == {"config", "quarter", "source", "out", "from_snapshot",
                                                                         "write_back"}
    refresh = _deployment(api, "refresh-funder-metrics", "refresh-funder-metrics")
    assert refresh["schedules"] == []
    assert set(refresh["parameter_openapi_schema"]["properties"]) == {"config", "source", "out", "as_of", "write_back"}


def _next_quarter_starts(months: list[int], tz: str, n: int = 4) -> list[datetime]:
    """06:00 local on the first day of the next n quarters, worked out without cron."""
    zone = ZoneInfo(tz)
    now = datetime.now(zone)
    starts = [datetime(year, month, 1, 6, 0, tzinfo=zone) for year in (now.year, now.year + 1, now.year + 2)
              for month in months]
    return [s for s in starts if s > now][:n]


def _scheduled_runs(api, flow: str = "quarterly-report", want: int = 4, timeout: float = 60) -> list[dict]:
    """The SCHEDULED runs the server's scheduler created for the deployment, earliest first."""
    deployment = _deployment(api, flow, flow)

    def runs():
        found = _call(api, "POST", "/flow_runs/filter", json={
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            "deployments": {"id": {"any_": [deployment["id"]]}},
            "sort": "EXPECTED_START_TIME_ASC",
        })
        return found if len(found) >= want else None

    return _wait(runs, timeout, f"the server to schedule {want} runs of {flow}", every=1)


def _scheduler_errors(log_text: str) -> str:
    """Lines of the server log that show a failing scheduler (or any traceback)."""
    bad = [line for line in log_text.splitlines()
           if "Traceback" in line or "InvalidRequestError" in line
           or (re.search(r"\|\s*ERROR\s*\|", line) and "schedul" in line.lower())]
    return "\n".join(bad)


def _assert_scheduled(served, months: list[int], tz: str) -> None:
    api = served["api"]
    log = served["server"].log
    try:
        runs = _scheduled_runs(api)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nscheduler errors in {log}:\n{_scheduler_errors(log.read_text())[:2000]}") from None
    times = [datetime.fromisoformat(r["expected_start_time"]) for r in runs]
    assert times == _next_quarter_starts(months, tz)
    assert [t.astimezone(ZoneInfo(tz)).hour for t in times] == [6, 6, 6, 6]
    for run in runs:
        assert run["state"]["type"] == "SCHEDULED" and run["state"]["name"] == "Scheduled"
        assert "auto-scheduled" in run["tags"]
        assert run["parameters"] == {"config": str(served["config"])}
    assert _scheduler_errors(log.read_text()) == ""


def test_server_schedules_the_calendar_quarters(served):
    """The server's scheduler (not a local cron computation) creates the next four runs, 06:00
    Chicago time on 1 Jan/Apr/Jul/Oct. With SQLAlchemy 2.1 it fails every loop and creates none."""
    _assert_scheduled(served, [1, 4, 7, 10], "America/Chicago")


def test_refresh_triggered_through_the_api_publishes_funder_files_and_artifacts(served):
    api = served["api"]
    deployment = _deployment(api, "refresh-funder-metrics", "refresh-funder-metrics")
    run_id = _call(api, "POST", f"/deployments/{deployment['id']}/create_flow_run",
                   json={"parameters": {"as_of": "2026-09-30"}})["id"]

    def finished():
        state = _call(api, "GET", f"/flow_runs/{run_id}")["state"]
        return state if state and state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None

    state = _wait(finished, 240, "the refresh flow run to finish")
    assert state["type"] == "COMPLETED", (state, served["log"].read_text()[-3000:])

    folders = sorted((served["out"] / "refresh" / "2026-Q3").glob("2026*"))
    assert len(folders) == 1
    funder = json.loads((folders[0] / "funder_metrics.json").read_text())
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["flow"] == "refresh-funder-metrics" and manifest["as_of"] == "2026-09-30"
    att = next(m for m in funder["metrics"] if m["metric_id"] == "attendance_rate" and m["quarter"] == "2026-Q3")
    assert att["n"] == 147 and att["value"] == pytest.approx(95 / 147, abs=5e-5)  # as the quarterly report
    assert not (folders[0] / "report.html").exists()  # a refresh publishes funder outputs only
    assert (folders[0] / "funder.pdf").read_bytes()[:5] == b"%PDF-" and (folders[0] / "funder.html").is_file()

    artifacts = _call(api, "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run_id]}}})
    by_key = {a["key"]: a for a in artifacts}
    assert set(by_key) == {"refresh-funder-metrics-summary", "refresh-funder-metrics-funder-metrics",
                           "refresh-funder-metrics-output"}
    summary = by_key["refresh-funder-metrics-summary"]
    assert summary["type"] == "markdown"
    assert "| Attendance rate (`attendance_rate`) | 65% | 147 |" in summary["data"]
    assert "## Disengagement alerts (3)" in summary["data"], summary["data"]
    table = by_key["refresh-funder-metrics-funder-metrics"]
    assert table["type"] == "table"
    rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
    assert {"metric_id": "satisfaction_mean", "value": pytest.approx(35 / 9, abs=5e-5), "unit": "score", "n": 9,
            "suppressed": False} in rows
    link = by_key["refresh-funder-metrics-output"]
    # Prefect 3 stores a link artifact as a markdown link
    assert link["data"] == f"[funder_metrics.csv (2026-Q3, run {manifest['run_id']})]({(folders[0] / 'funder_metrics.csv').as_uri()})"

    runs = subprocess.run([str(COALITION), "runs", "--config", str(served["config"])], capture_output=True, text=True,
                          timeout=60, env={k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")})
    assert "refresh-funder-metrics  2026-Q3  2026-09-30" in runs.stdout and "succeeded" in runs.stdout


def test_server_schedules_the_fiscal_quarters(served_fiscal):
    quarterly = _deployment(served_fiscal["api"], "quarterly-report", "quarterly-report")
    assert [s["schedule"]["cron"] for s in quarterly["schedules"]] == ["0 6 1 2,5,8,11 *"]
    _assert_scheduled(served_fiscal, [2, 5, 8, 11], "Australia/Sydney")


def _listening_port() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def test_serve_stops_within_10_s_on_sigterm_and_sigint_after_its_server_is_gone(served_fiscal):
    """Three `coalition serve` processes against one server; the server is killed, then one gets
    SIGTERM (systemd's stop) and one SIGINT (Ctrl-C): each exits within 10 s, no traceback. The
    third is left alone and stops by itself (status 2) once the server misses its health checks.
    Runs last of the fiscal tests: it ends that fixture's server."""
    tmp, server = served_fiscal["tmp"], served_fiscal["server"]
    logs = {"SIGTERM": tmp / "serve.log", "SIGINT": tmp / "serve-sigint.log", "none": tmp / "serve-alone.log"}
    procs = {"SIGTERM": served_fiscal["serve"]}
    procs["SIGINT"] = _start_serve(server, served_fiscal["config"], logs["SIGINT"])
    procs["none"] = _start_serve(server, served_fiscal["config"], logs["none"])
    try:
        for name in logs:  # "Serving" is printed once Prefect's runner is up (API client, event stream)
            _wait(lambda: "Serving " in logs[name].read_text(), 120, f"coalition serve ({name}) to start")
        os.killpg(server.proc.pid, signal.SIGKILL)  # gone at once, as after a crash
        server.proc.wait(timeout=30)
        gone = time.monotonic()
        time.sleep(1)
        for name, sig in (("SIGTERM", signal.SIGTERM), ("SIGINT", signal.SIGINT)):
            proc = procs[name]
            assert proc.poll() is None, f"serve ({name}) exited before it was signalled: {logs[name].read_text()[-2000:]}"
            t0 = time.monotonic()
            os.kill(proc.pid, sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pytest.fail(f"coalition serve did not stop within 10 s of {name}")
            assert time.monotonic() - t0 < 10
            text = logs[name].read_text()
            assert "Traceback" not in text, text[-3000:]
            assert proc.returncode == 0 and "coalition serve stopped." in text, (proc.returncode, text[-2000:])

        alone = procs["none"]
        try:
            alone.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("coalition serve kept running 60 s after its server was gone")
        text = logs["none"].read_text()
        assert alone.returncode == 2, (alone.returncode, text[-2000:])
        assert "Traceback" not in text, text[-3000:]
        assert f"error: No Prefect server answers at {server.api_url} (PREFECT_API_URL): it stopped answering" in text
        assert time.monotonic() - gone < 60
    finally:
        for proc in procs.values():
            _end(proc)


def test_serve_with_no_server_says_so_and_exits_2(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COALITION_"))}
    env["PREFECT_API_URL"] = url
    t0 = time.monotonic()
    r = subprocess.run([str(COALITION), "serve"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert time.monotonic() - t0 < 60
    assert "Traceback" not in r.stdout + r.stderr
    message = r.stderr.strip()
    assert message.startswith(f"error: No Prefect server answers at {url} (PREFECT_API_URL)") and "\n" not in message
    assert "make server" in message and "coalition serve" in message


class _HealthOnly:
    """A stand-in for a Prefect server on loopback: /api/health answers 200, every other path 500.
    With `vanish=True` it closes after its first answer, like a server that dies while serve starts."""

    def __init__(self, vanish: bool):
        import http.server
        import threading

        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                ok = self.path.rstrip("/").endswith("/health")
                self.send_response(200 if ok else 500)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"true" if ok else b'{"detail": "stand-in server"}')
                if ok and vanish:
                    threading.Thread(target=owner.close, daemon=True).start()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.closed = False
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        if not self.closed:
            self.closed = True
            self.httpd.shutdown()
            self.httpd.server_close()  # the port refuses connections from now on


@pytest.mark.parametrize("vanish", [True, False], ids=["server-gone-while-starting", "server-failing"])
def test_serve_whose_runner_fails_says_why_in_one_paragraph(tmp_path, vanish):
    """The health check passes, then Prefect's runner fails (registering the deployments or opening
    its event stream): one paragraph, exit 2, never a traceback; the cause named when the server is gone."""
    stand_in = _HealthOnly(vanish)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COALITION_"))}
    env.update({"PREFECT_API_URL": stand_in.url, "PREFECT_CLIENT_MAX_RETRIES": "1",
                "PREFECT_HOME": str(tmp_path / "prefect-home")})
    try:
        r = subprocess.run([str(COALITION), "serve"], capture_output=True, text=True, env=env, cwd=tmp_path,
                           timeout=180)
    finally:
        stand_in.close()
    output = r.stdout + r.stderr
    assert r.returncode == 2, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "Serving " not in output
    message = r.stderr.strip().splitlines()[-1]
    if vanish:
        assert message.startswith(f"error: No Prefect server answers at {stand_in.url} (PREFECT_API_URL): "
                                  f"it stopped answering ("), message
        assert "make server" in message
    else:
        assert message.startswith(f"error: Prefect's runner stopped with an error while serving against "
                                  f"{stand_in.url}: "), message
        assert "The server still answers" in message


def test_make_server_fails_loudly_when_its_port_is_taken(tmp_path):
    with _listening_port() as held:
        port = held.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update({"PREFECT_SERVER_PORT": str(port), "PREFECT_HOME": str(tmp_path / "home")})
        r = subprocess.run([sys.executable, "-m", "coalition_metrics.prefect_server"], capture_output=True,
                           text=True, env=env, cwd=ROOT, timeout=60)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    message = r.stderr.strip()
    assert message.startswith(f"error: Port {port} on 127.0.0.1 is already in use") and "\n" not in message
    assert "PREFECT_SERVER_PORT" in message
    assert not (tmp_path / "home" / "server.log").exists()  # no server process was started


def test_serve_log_filter_drops_reports_of_its_own_stop():
    """The KeyboardInterrupt `coalition serve` raises to stop can land inside one of Prefect's loops
    (seen: its cancellation observer reconnecting), which logs it with a traceback: once serve is
    stopping, such a record is dropped; before, a KeyboardInterrupt is reported as it is, and a
    connection error keeps its line without the traceback."""
    import logging
    import sys
    import threading

    from coalition_metrics.serving import _ServeLogFilter

    def record(exc: BaseException) -> logging.LogRecord:
        try:
            raise exc
        except BaseException:
            info = sys.exc_info()
        return logging.LogRecord("prefect.FlowRunCancellingObserver", logging.WARNING, __file__, 1,
                                 "The FlowRunCancellingObserver websocket failed with an exception.", None, info)

    stopping = threading.Event()
    f = _ServeLogFilter(stopping)
    early = record(KeyboardInterrupt())
    assert f.filter(early) and early.exc_info is not None
    refused = record(ConnectionRefusedError("refused"))
    assert f.filter(refused) and refused.exc_info is None  # the line stays, its traceback goes
    stopping.set()
    assert not f.filter(record(KeyboardInterrupt()))
    other = record(ValueError("a real failure"))
    assert f.filter(other) and other.exc_info is not None
