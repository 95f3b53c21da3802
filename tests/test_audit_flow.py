"""The `audit-satisfaction` Prefect flow under Prefect's test harness, its deployment, and the CLI."""

import json

import pytest


def test_audit_flow_runs_the_pipeline_stages_then_the_pack(prefect_harness, settings):
    from flows.audit_satisfaction import audit_satisfaction
    out = settings.output_folder
    state = audit_satisfaction(wave_from="2026-Q1", wave_to="2026-Q3", out=str(out), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result.folder.parent == out / "audit" / "2026-Q1_2026-Q3"
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["flow"] == "audit-satisfaction" and manifest["waves"] == {"from": "2026-Q1", "to": "2026-Q3"}
    assert manifest["tables"]["waves"] == 3 and manifest["tables"]["measures"] == 18
    assert _task_runs_until(state.state_details.flow_run_id, "audit-pack") == [
        "extract", "snapshot", "validate", "load-and-transform", "audit-pack"]


def _task_runs_until(flow_run_id, last: str) -> list[str]:
    import asyncio
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read():
        async with get_client() as client:
            runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            return [r.name.rsplit("-", 1)[0] for r in sorted(runs, key=lambda r: r.start_time or r.expected_start_time)]

    deadline = time.monotonic() + 30
    while True:  # task runs reach the API through events, shortly after the flow returns
        names = asyncio.run(read())
        if last in names or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def test_audit_flow_fails_on_a_bad_range_and_publishes_nothing(prefect_harness, settings):
    from coalition_metrics.errors import CoalitionError
    from flows.audit_satisfaction import audit_satisfaction

    state = audit_satisfaction(wave_from="2026-Q3", wave_to="2026-Q1", out=str(settings.output_folder),
                               return_state=True)
    assert state.is_failed()
    with pytest.raises(CoalitionError, match="--from 2026-Q3 is after --to 2026-Q1"):
        state.result()
    assert not (settings.output_folder / "audit").exists()


def test_audit_deployment_is_served_on_demand_with_its_parameters():
    from flows.deployments import build_deployments

    deployments = {d.name: d for d in build_deployments(None)}
    assert set(deployments) == {"quarterly-report", "refresh-funder-metrics", "audit-satisfaction"}
    audit = deployments["audit-satisfaction"]
    assert audit.flow_name == "audit-satisfaction" and not audit.schedules
    assert set(audit._parameter_openapi_schema.properties) == {"config", "wave_from", "wave_to", "source", "out",
                                                              "from_snapshot"}


def test_cli_audit_from_a_published_snapshot_without_prefect(example_run_copy, capsys):
    from coalition_metrics.cli import main

    example_run = example_run_copy  # a copy: the audit rebuilds the database it runs in
    out = example_run.folder.parents[1]
    code = main(["audit", "satisfaction", "--no-prefect", "--from-snapshot", example_run.run_id, "--from", "2026-Q2",
                 "--to", "2026-Q3", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Satisfaction audit 2026-Q2 to 2026-Q3" in printed.out
    assert "1 straight-lining" not in printed.out  # row 28 answered in 2025-Q3, outside these waves
    folder = next((out / "audit" / "2026-Q2_2026-Q3").glob("2026*"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["snapshot"]["id"] == example_run.manifest["snapshot"]["id"]


def test_cli_audit_refuses_a_bad_range_in_one_paragraph_before_prefect_starts(capsys, tmp_path):
    import time

    from coalition_metrics.cli import main

    started = time.monotonic()
    assert main(["audit", "satisfaction", "--to", "2026-Q5", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --to '2026-Q5' is not a quarter") and "Traceback" not in err
    assert main(["audit", "satisfaction", "--from", "2026-Q3", "--to", "2026-Q1", "--out", str(tmp_path)]) == 2
    assert "--from 2026-Q3 is after --to 2026-Q1" in capsys.readouterr().err
    assert time.monotonic() - started < 5  # no Prefect server was started for it


def test_audit_of_a_published_run_uses_the_config_it_was_published_with(tmp_path, monkeypatch, capsys):
    """--from-snapshot RUN_ID audits with the run's saved config.json (here small_n = 3, while
    today's config says 5) up to the run's quarter, not with today's config and the last quarter."""
    from coalition_metrics.cli import main
    from coalition_metrics.config import load_settings
    from coalition_metrics.pipeline import run_quarterly

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    then = load_settings(None, environ={}).with_overrides(metrics={"small_n": 3}, output={"folder": str(out), "pdf": False})
    run = run_quarterly(then, quarter="2026-Q2", out=out)
    assert main(["audit", "satisfaction", "--no-prefect", "--from-snapshot", run.run_id[:12], "--out", str(out)]) == 0
    assert "to 2026-Q2" in capsys.readouterr().out
    folder = next((out / "audit").glob("*_2026-Q2/2026*"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config_hash"] == run.manifest["config_hash"] != load_settings(None, environ={}).config_hash()
    assert manifest["waves"]["to"] == "2026-Q2"
