"""The `quarterly-report` flow: each task calls one plain function of coalition_metrics.pipeline.

Runs with no Prefect server configured (Prefect's ephemeral mode) or against one (PREFECT_API_URL),
in-process (`coalition run`) or from the deployment `coalition serve` registers. Parameters are
plain values (a config path, not settings), so the deployment exposes them in the UI.
"""

from __future__ import annotations

from prefect import flow

from coalition_metrics.plan import RunResult, plan_run, with_source
from coalition_metrics.config import load_settings
from flows import tasks


@flow(name="quarterly-report", log_prints=True, timeout_seconds=3600)
def quarterly_report(config: str | None = None, quarter: str | None = None, source: str | None = None,
                     out: str | None = None, from_snapshot: str | None = None, write_back: bool = True) -> RunResult:
    """extract -> snapshot -> validate -> load -> transform -> render -> publish.

    quarter: e.g. 2026-Q3 or FY2027-Q1; default the last completed quarter.
    from_snapshot: a run id or snapshot id to replay instead of reading the source (resume).
    write_back: write the funder table to the Google Sheet's [write_back] tab after publishing.
    """
    with tasks.failure_reported("quarterly-report", quarter):
        settings = with_source(load_settings(config), source)
        plan = plan_run(settings, quarter, out=out)
    with tasks.failure_reported("quarterly-report", plan.quarter.label):
        result = tasks.run_stages(plan, tasks.render_and_publish, from_snapshot)
    tasks.publish_artifacts(plan, result, "report.html")
    print(f"published {result.folder}")
    with tasks.failure_reported("quarterly-report", plan.quarter.label):
        tasks.write_back(plan, result, write_back)
    return result
