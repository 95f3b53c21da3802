"""Integration: a real Prefect server on loopback (started by coalition_metrics.prefect_server, as
`make server` does), `coalition serve` registering both deployments, and a refresh triggered through
the REST API, waited for, and checked: funder outputs on disk and the run's artifacts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from coalition_metrics.prefect_server import LocalServer, server_env

ROOT = Path(__file__).resolve().parent.parent
COALITION = Path(sys.executable).parent / "coalition"


def _wait(predicate, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A Prefect server and `coalition serve` with a config whose output is a temp folder."""
    tmp = tmp_path_factory.mktemp("served")
    config = tmp / "coalition.toml"
    config.write_text(f'[output]\nfolder = "{tmp / "out"}"\n\n[orchestration]\ntimezone = "America/Chicago"\n')
    server = LocalServer(tmp / "prefect-home").start()
    env = server_env(server.home, {"PREFECT_API_URL": server.api_url})
    env = {k: v for k, v in env.items() if not k.startswith("COALITION_")}
    log = open(tmp / "serve.log", "ab")
    serve = subprocess.Popen([str(COALITION), "serve", "--config", str(config)], cwd=tmp, env=env,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = httpx.Client(base_url=server.api_url, timeout=30)
    try:
        def both_registered():
            names = {d["name"] for d in _call(api, "POST", "/deployments/filter", json={})}
            return names >= {"quarterly-report", "refresh-funder-metrics"}
        _wait(both_registered, 120, "coalition serve to register both deployments")
        yield {"api": api, "config": config, "out": tmp / "out", "log": tmp / "serve.log"}
    finally:
        api.close()
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGINT)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
        server.stop()


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
    assert set(quarterly["parameter_openapi_schema"]["properties"]) == {"config", "quarter", "source", "out", "from_snapshot"}
    refresh = _deployment(api, "refresh-funder-metrics", "refresh-funder-metrics")
    assert refresh["schedules"] == []
    assert set(refresh["parameter_openapi_schema"]["properties"]) == {"config", "source", "out", "as_of"}


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
    assert att["n"] == 147 and att["value"] == pytest.approx(95 / 147, abs=1e-6)  # as the quarterly report
    assert not (folders[0] / "report.html").exists()  # a refresh publishes funder outputs only

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
    assert {"metric_id": "satisfaction_mean", "value": pytest.approx(35 / 9, abs=1e-6), "unit": "score", "n": 9,
            "suppressed": False} in rows
    link = by_key["refresh-funder-metrics-output"]
    # Prefect 3 stores a link artifact as a markdown link
    assert link["data"] == f"[funder_metrics.csv (2026-Q3, run {manifest['run_id']})]({(folders[0] / 'funder_metrics.csv').as_uri()})"

    runs = subprocess.run([str(COALITION), "runs", "--config", str(served["config"])], capture_output=True, text=True,
                          timeout=60, env={k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")})
    assert "refresh-funder-metrics  2026-Q3  2026-09-30" in runs.stdout and "succeeded" in runs.stdout
