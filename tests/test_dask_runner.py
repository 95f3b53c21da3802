"""The portfolio's per-coalition tasks on a real local Dask cluster (2 worker processes) through
prefect-dask's DaskTaskRunner, in a flow against a real Prefect server: each coalition's extract ->
snapshot -> validate runs in a worker process and comes back (pickled) equal to the plain
function's result; a coalition whose source fails is reported and the others succeed."""

from __future__ import annotations

import os
import pickle
import re
import time
from dataclasses import dataclass
from functools import cached_property

import httpx
import pytest
from prefect import flow, task

from conftest import EXAMPLE_CSV, NO_PDFS
from coalition_metrics.config import Settings, load_settings
from coalition_metrics.orchestration import task_runner_for
from flows.portfolio_run import prepare_all


class IdSettings(Settings):
    """Settings with a coalition id (the portfolio's Settings.coalition_id), for this test."""

    @cached_property
    def coalition_id(self) -> str:
        return self.data["coalition"]["name"].split()[0].lower()


@dataclass
class Prepared:
    """The shape of coalition_metrics.portfolio.run.Prepared, plus the worker's pid."""
    coalition_id: str
    plan: object
    snap: object
    validation: object
    pid: int


def prepare_coalition(settings, plan):
    """extract -> snapshot -> validate, as portfolio.run.prepare_coalition does."""
    from coalition_metrics.pipeline import extract, snapshot, validate

    snap = snapshot(extract(settings), plan)
    return Prepared(settings.coalition_id, plan, snap, validate(snap, settings), os.getpid())


@task(name="prepare-coalition")
def prepare_in_worker(settings, plan, budgets=None):
    return prepare_coalition(settings, plan)


def reported(settings, exc, plan):
    return (settings.coalition_id, type(exc).__name__, str(exc))


def coalition(tmp_path, name: str, location) -> tuple[IdSettings, object]:
    from coalition_metrics.plan import plan_run

    base = load_settings(None, environ={}).with_overrides(
        coalition={"name": name}, source={"location": str(location)}, output={"folder": str(tmp_path / "out"), **NO_PDFS})
    s = IdSettings(base.data, base.path, base.base_dir)
    return s, plan_run(s, "2026-Q3", out=tmp_path / "out" / s.coalition_id)


@pytest.fixture
def runner_settings(tmp_path):
    s = load_settings(None, environ={})
    return s.with_overrides(orchestration={"task_runner": "dask", "dask_workers": 2})


def test_task_runner_for_settings():
    from prefect.task_runners import ThreadPoolTaskRunner

    s = load_settings(None, environ={})
    local = task_runner_for(s)
    assert type(local).__name__ == "DaskTaskRunner" and local.address is None
    assert local.cluster_kwargs == {"n_workers": 2, "processes": True, "threads_per_worker": 1,
                                    "dashboard_address": None}
    remote = task_runner_for(s.with_overrides(orchestration={"dask_address": "tcp://127.0.0.1:8786"}))
    assert remote.address == "tcp://127.0.0.1:8786" and remote.cluster_kwargs == {}
    seq = task_runner_for(s.with_overrides(orchestration={"task_runner": "sequential"}))
    assert isinstance(seq, ThreadPoolTaskRunner) and seq._max_workers == 1


def test_prepared_coalitions_pickle(tmp_path):
    """What a worker sends back (settings, plan, snapshot, validation) survives pickling whole."""
    s, plan = coalition(tmp_path, "Riverside Health Equity Coalition", EXAMPLE_CSV)
    prepared = prepare_coalition(s, plan)
    back = pickle.loads(pickle.dumps(prepared))
    assert back.validation.counts() == prepared.validation.counts()
    assert back.validation.quarantined == prepared.validation.quarantined
    assert back.snap.snapshot_id == prepared.snap.snapshot_id and back.plan.run_id == plan.run_id
    assert back.plan.settings.config_hash() == s.config_hash()


def test_coalitions_run_in_dask_worker_processes_through_a_prefect_server(tmp_path, runner_settings, on_prefect_api):
    riverside, plan_r = coalition(tmp_path, "Riverside Health Equity Coalition", EXAMPLE_CSV)
    lakeside, plan_l = coalition(tmp_path, "Lakeside Health Equity Coalition", EXAMPLE_CSV)
    missing = tmp_path / "no-such-folder"
    broken, plan_b = coalition(tmp_path, "Brokenridge Coalition", missing)
    entries = [(riverside, plan_r), (broken, plan_b), (lakeside, plan_l)]

    @flow(name="dask-runner-test")
    def run_all():  # as portfolio-run does: the portfolio's runner, started inside the flow run
        return prepare_all(entries, prepare_in_worker, reported, task_runner_for(runner_settings))

    started = time.monotonic()
    state = run_all(return_state=True)
    seconds = time.monotonic() - started
    assert state.is_completed(), state  # the failing coalition does not fail the flow
    prepared, failed = state.result()

    # The failing coalition is reported with its own one-paragraph error; the others prepared.
    assert [(f[0], f[1]) for f in failed] == [("brokenridge", "SourceError")]
    assert str(missing) in failed[0][2] and "does not exist" in failed[0][2]
    assert [p.coalition_id for p in prepared] == ["riverside", "lakeside"]

    # In worker processes, not the test's, and equal to the plain function's result.
    assert all(p.pid != os.getpid() for p in prepared)
    plain = prepare_coalition(riverside, plan_r)
    for p in prepared:
        assert p.validation.counts() == plain.validation.counts()
        assert p.validation.quarantined == plain.validation.quarantined
        assert p.snap.tab_hashes == plain.snap.tab_hashes  # the same source, the same snapshot content
        assert (p.plan.out_dir / "snapshots" / p.snap.snapshot_id).exists()
        assert p.plan.out_dir.name == p.coalition_id

    # The server recorded the flow run and its three task runs, one failed.
    flow_run_id = str(state.state_details.flow_run_id)
    with httpx.Client(base_url=on_prefect_api, timeout=30) as api:
        runs = api.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run_id]}}}).json()
    states = sorted((r["name"].split("-")[0], r["state_type"]) for r in runs)
    assert states == [("prepare", "COMPLETED"), ("prepare", "COMPLETED"), ("prepare", "FAILED")]
    print(f"3 coalitions on a 2-worker local Dask cluster: {seconds:.1f} s (cluster start included)")


@pytest.mark.parametrize("section, values, message", [
    ("orchestration", {"task_runner": "threads"}, 'task_runner must be "dask" or "sequential"'),
    ("orchestration", {"dask_address": "scheduler:8786"}, 'like "tcp://10.0.0.5:8786"'),
    ("orchestration", {"dask_workers": 0}, "dask_workers must be 1 to 256"),
    ("source", {"sheets_reads_per_minute": 0}, "sheets_reads_per_minute must be 1 to 100000"),
])
def test_orchestration_settings_are_checked(section, values, message):
    from coalition_metrics.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(None, environ={}).with_overrides(**{section: values})


def test_a_remote_scheduler_without_a_prefect_server_is_refused(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from coalition_metrics.errors import ConfigError
    from coalition_metrics.orchestration import shared_prefect_api

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    s = load_settings(None, environ={}).with_overrides(orchestration={"dask_address": "tcp://127.0.0.1:8786"})
    with temporary_settings({PREFECT_API_URL: None}):
        with pytest.raises(ConfigError, match="need a Prefect server they can reach.*PREFECT_API_URL"):
            with shared_prefect_api(s):
                pass


@task(name="api-of-worker")
def api_of_worker():
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return os.getpid(), str(client.api_url)


def test_without_a_prefect_server_local_workers_share_the_flows_temporary_one(monkeypatch):
    """Ephemeral mode: without shared_prefect_api each worker would start a server of its own
    (task runs lost, the Sheets budget not shared)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from coalition_metrics.orchestration import shared_prefect_api

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    s = load_settings(None, environ={})

    @flow(name="ephemeral-dask-test")
    def where():
        with task_runner_for(s) as runner:
            futures = [runner.submit(api_of_worker, parameters={}) for _ in range(2)]
            return [f.result() for f in futures]

    with temporary_settings({PREFECT_API_URL: None}), shared_prefect_api(s):
        url = os.environ["PREFECT_API_URL"]
        answers = where()
    assert url.startswith("http://127.0.0.1:")
    assert {api.rstrip("/") for _, api in answers} == {url.rstrip("/")}  # the flow's own server
    assert all(pid != os.getpid() for pid, _ in answers)
    assert "PREFECT_API_URL" not in os.environ
