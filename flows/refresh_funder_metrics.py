"""The `refresh-funder-metrics` flow: the current quarter to date, funder outputs only (no report),
for a coordinator who needs today's figures. Same tasks as the quarterly report."""

from __future__ import annotations

from prefect import flow

from coalition_metrics.plan import RunResult, plan_refresh, with_source
from coalition_metrics.config import load_settings
from flows import tasks


@flow(name="refresh-funder-metrics", log_prints=True, timeout_seconds=1800)
def refresh_funder_metrics(config: str | None = None, source: str | None = None, out: str | None = None,
                           as_of: str | None = None, write_back: bool = True) -> RunResult:
    """extract -> snapshot -> validate -> load -> transform -> publish funder files.

    as_of: YYYY-MM-DD, default today; the refresh covers the quarter it falls in, up to it.
    write_back: write the funder table to the Google Sheet's [write_back] tab after publishing.
    """
    with tasks.failure_reported("refresh-funder-metrics", None):
        settings = with_source(load_settings(config), source)
        plan = plan_refresh(settings, as_of, out=out)
    with tasks.failure_reported("refresh-funder-metrics", plan.quarter.label):
        result = tasks.run_stages(plan, tasks.publish_funder)
    tasks.publish_artifacts(plan, result, "funder_metrics.csv")
    print(f"published {result.folder}")
    with tasks.failure_reported("refresh-funder-metrics", plan.quarter.label):
        tasks.write_back(plan, result, write_back)
    return result
