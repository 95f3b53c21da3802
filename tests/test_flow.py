"""The `quarterly-report` Prefect flow, end to end under Prefect's test harness."""

import json

import pytest


def test_quarterly_report_flow_publishes_the_same_figures(prefect_harness, settings, example_run):
    from flows.quarterly_report import quarterly_report

    state = quarterly_report(quarter="2026-Q3", out=str(settings.output_folder), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result.quarter == "2026-Q3"
    assert (result.folder / "funder_metrics.json").read_bytes() == (example_run.folder / "funder_metrics.json").read_bytes()
    assert json.loads((result.folder / "manifest.json").read_text())["flow"] == "quarterly-report"
    # each stage is its own task run, in order
    assert _task_runs(state.state_details.flow_run_id) == [
        "extract", "snapshot", "validate", "load-and-transform", "render-and-publish", "artifacts",
        "write-back-to-sheet"]


def _task_runs(flow_run_id) -> list[str]:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read():
        async with get_client() as client:
            runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            return [r.name.rsplit("-", 1)[0] for r in sorted(runs, key=lambda r: r.start_time or r.expected_start_time)]

    import time

    deadline = time.monotonic() + 30
    while True:  # task runs reach the API through events, shortly after the flow returns
        names = asyncio.run(read())
        if "write-back-to-sheet" in names or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def test_flow_fails_on_blocking_validation_and_publishes_nothing(prefect_harness, settings, example_copy):
    from flows.quarterly_report import quarterly_report
    from coalition_metrics.errors import BlockingValidationError

    (example_copy / "attendance.csv").write_text("meeting_id,member_id\nWC-2024-10-01,M01\n")
    state = quarterly_report(quarter="2026-Q3", source=str(example_copy), out=str(settings.output_folder),
                             return_state=True)
    assert state.is_failed()
    with pytest.raises(BlockingValidationError, match="no required column 'status'"):
        state.result()
    assert not (settings.output_folder / "2026-Q3").exists()


# ---- Sheets outages through the flow -------------------------------------------------------------
def _sheet_config(tmp_path, credentials_file, out):
    from test_sheets_source import SHEET_URL

    config = tmp_path / "coalition.toml"
    config.write_text(
        f'[source]\nlocation = "{SHEET_URL}"\ncredentials_file = "{credentials_file}"\nretry_delays = [0.0]\n\n'
        f'[orchestration]\nextract_retries = 1\nextract_retry_delays = [0.0]\n\n[output]\nfolder = "{out}"\npdf = false\n')
    return config


def _flow_logs(flow_run_id) -> str:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    import time

    async def read():
        async with get_client() as client:
            logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            return "\n".join(log.message for log in logs)

    deadline = time.monotonic() + 30
    while True:  # logs reach the API in batches, every couple of seconds
        text = asyncio.run(read())
        if "Finished in state" in text or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def _artifacts(flow_run_id) -> dict:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read():
        async with get_client() as client:
            found = await client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
            return {a.key: a for a in found}

    return asyncio.run(read())


def test_sheets_500_then_success_completes(prefect_harness, tmp_path, credentials_file, example_run):
    from flows.quarterly_report import quarterly_report
    from test_sheets_source import BATCH_URL, FakeGoogle, api_calls, fake_google

    config = _sheet_config(tmp_path, credentials_file, tmp_path / "out")
    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        fake_google(rsps, batch_statuses=(500, 200))
        state = quarterly_report(config=str(config), quarter="2026-Q3", write_back=False, return_state=True)
        statuses = [c.response.status_code for c in api_calls(rsps) if c.request.url.startswith(BATCH_URL)]
    assert state.is_completed(), state.message
    assert statuses == [500, 200]
    result = state.result()
    assert (result.folder / "funder_metrics.json").read_bytes() == (example_run.folder / "funder_metrics.json").read_bytes()
    assert set(_artifacts(state.state_details.flow_run_id)) == {
        "quarterly-report-summary", "quarterly-report-funder-metrics", "quarterly-report-output"}


def test_viewer_only_sheet_fails_the_write_back_task_after_publishing(prefect_harness, tmp_path, credentials_file):
    """The write-back is its own task after publish: a 403 fails the flow run with WriteBackError
    (exit 3 in the CLI), the run folder is published and the runs table says the write-back failed."""
    from coalition_metrics.config import load_settings
    from coalition_metrics.errors import WriteBackError
    from coalition_metrics.runs import list_runs
    from flows.quarterly_report import quarterly_report
    from test_sheets_source import FakeGoogle
    from test_sheets_writeback import fake_sheet, writes

    config = _sheet_config(tmp_path, credentials_file, tmp_path / "out")
    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        fake_sheet(rsps, write_status=(403,))
        state = quarterly_report(config=str(config), quarter="2026-Q3", return_state=True)
        assert len(writes(rsps)) == 1
    assert state.is_failed()
    with pytest.raises(WriteBackError, match="Editor") as err:
        state.result()
    assert err.value.exit_code == 3 and (err.value.result.folder / "report.html").is_file()
    settings = load_settings(str(config))
    (run,) = list_runs(settings.output_folder, settings)
    assert run["status"] == "succeeded" and run["write_back"] == "failed"
    assert _task_runs(state.state_details.flow_run_id)[-1] == "write-back-to-sheet"
    failure = _artifacts(state.state_details.flow_run_id)["quarterly-report-failure"]
    assert "The run is published" in failure.data and "Editor" in failure.data


def test_persistent_429_fails_publishes_nothing_and_keeps_the_previous_run(
        prefect_harness, tmp_path, credentials_file, private_key_pem, example_run):
    from coalition_metrics.config import load_settings
    from coalition_metrics.errors import TransientSourceError
    from coalition_metrics.runs import list_runs
    from conftest import copy_of_run
    from flows.quarterly_report import quarterly_report
    from test_sheets_source import BATCH_URL, FakeGoogle, api_calls, fake_google

    out = tmp_path / "out"
    previous = copy_of_run(example_run, out)  # a run published from the CSVs
    before = sorted(p.name for p in (out / "2026-Q3").iterdir())
    config = _sheet_config(tmp_path, credentials_file, out)
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        fake_google(rsps, batch_statuses=(429,))
        state = quarterly_report(config=str(config), quarter="2026-Q3", return_state=True)
        batch = [c for c in api_calls(rsps) if c.request.url.startswith(BATCH_URL)]
    assert state.is_failed()
    with pytest.raises(TransientSourceError, match="HTTP 429"):
        state.result()
    # 2 client attempts ([source] retry_delays = [0]) x 2 task attempts (extract_retries = 1)
    assert len(batch) == 4
    assert sorted(p.name for p in (out / "2026-Q3").iterdir()) == before  # nothing new, nothing partial
    assert (out / "2026-Q3" / "LATEST").read_text().strip() == previous.run_id
    assert (previous.folder / "funder_metrics.json").is_file()
    runs = list_runs(out, load_settings(None, environ={}))
    assert runs[0]["status"] == "failed" and "HTTP 429" in runs[0]["message"] and runs[1]["status"] == "succeeded"
    flow_run_id = state.state_details.flow_run_id
    failure = _artifacts(flow_run_id)["quarterly-report-failure"]
    assert "Nothing was published" in failure.data and "HTTP 429" in failure.data
    logs = _flow_logs(flow_run_id)
    assert "429" in logs  # the run's log says what happened ...
    for secret in (private_key_pem.splitlines()[1], str(credentials_file), "ya29.fake"):
        assert secret not in logs and secret not in failure.data  # ... and never shows credentials


def test_blocking_validation_is_a_failed_run_with_the_reason_in_its_artifact(prefect_harness, settings, example_copy):
    from flows.quarterly_report import quarterly_report

    (example_copy / "attendance.csv").write_text("meeting_id,member_id\nWC-2024-10-01,M01\n")
    state = quarterly_report(quarter="2026-Q3", source=str(example_copy), out=str(settings.output_folder),
                             return_state=True)
    assert state.is_failed()
    failure = _artifacts(state.state_details.flow_run_id)["quarterly-report-failure"]
    from markdown_it import MarkdownIt

    shown = MarkdownIt("commonmark").render(failure.data)  # sheet text in it is escaped markdown
    assert "Tab 'attendance' has no required column 'status'" in shown


def test_refresh_flow_publishes_funder_files_only(prefect_harness, settings, example_run):
    from flows.refresh_funder_metrics import refresh_funder_metrics

    state = refresh_funder_metrics(out=str(settings.output_folder), as_of="2026-09-30", return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result.folder.parent == settings.output_folder / "refresh" / "2026-Q3"
    assert sorted(p.name for p in result.folder.iterdir()) == ["config.json", "funder.html", "funder.pdf",
                                                               "funder_metrics.csv", "funder_metrics.json",
                                                               "manifest.json", "validation"]
    # a closed quarter refreshed as of its last day: the quarterly report's funder figures
    assert (result.folder / "funder_metrics.json").read_bytes() == (example_run.folder / "funder_metrics.json").read_bytes()
