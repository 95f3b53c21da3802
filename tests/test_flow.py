"""The `quarterly-report` Prefect flow, end to end under Prefect's test harness."""

import json

import pytest


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_quarterly_report_flow_publishes_the_same_figures(prefect_harness, settings, example_run):
    from flows.quarterly_report import quarterly_report

    state = quarterly_report(quarter="2026-Q3", out=str(settings.output_folder), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result.quarter == "2026-Q3"
    assert (result.folder / "funder_metrics.json").read_bytes() == (example_run.folder / "funder_metrics.json").read_bytes()
    assert json.loads((result.folder / "manifest.json").read_text())["flow"] == "quarterly-report"


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
