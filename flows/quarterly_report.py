"""The `quarterly-report` flow: each task calls one plain function of coalition_metrics.pipeline.

Runs with no Prefect server configured (Prefect's ephemeral mode) or against one (PREFECT_API_URL).
"""

from __future__ import annotations

from prefect import flow, task

from coalition_metrics import pipeline
from coalition_metrics.config import Settings


@task(name="extract")
def extract(settings: Settings):
    """Read every tab from the source (one values:batchGet for a Google Sheet).

    No Prefect-level retries: the Sheets client already retries 429/5xx with the configured
    backoff, and the other failures (credentials, sharing, a missing file) need a person.
    """
    return pipeline.extract(settings)


@task(name="snapshot")
def snapshot(tabs, plan: pipeline.RunPlan):
    return pipeline.snapshot(tabs, plan)


@task(name="replay-snapshot")
def replay(run_or_snapshot: str, plan: pipeline.RunPlan):
    return pipeline.replay(run_or_snapshot, plan)


@task(name="validate")
def validate(snap, settings: Settings):
    return pipeline.validate(snap, settings)


@task(name="load-and-transform")
def build_database(snap, validation, plan: pipeline.RunPlan):
    return pipeline.build_database(snap, validation, plan)


@task(name="render-and-publish")
def render_and_publish(snap, validation, plan: pipeline.RunPlan):
    return pipeline.render_and_publish(snap, validation, plan)


@flow(name="quarterly-report", log_prints=True)
def quarterly_report(settings: Settings, quarter: str | None = None, source: str | None = None,
                     out: str | None = None, from_snapshot: str | None = None) -> pipeline.RunResult:
    """extract -> snapshot -> validate -> load -> transform -> render -> publish."""
    settings = pipeline.with_source(settings, source)
    plan = pipeline.plan_run(settings, quarter, out=out)
    with pipeline.recorded_run(plan) as run:
        snap = replay(from_snapshot, plan) if from_snapshot else snapshot(extract(settings), plan)
        run.snapshot_id = snap.snapshot_id
        checked = validate(snap, settings)
        build_database(snap, checked, plan)
        result = render_and_publish(snap, checked, plan)
        run.folder = result.folder
    print(f"published {result.folder}")
    return result
