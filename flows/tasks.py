"""Prefect tasks shared by the flows: each calls one plain stage function (coalition_metrics.pipeline,
or coalition_metrics.publish for the last stage)."""

from __future__ import annotations

from contextlib import contextmanager

from prefect import task

from coalition_metrics import pipeline
from coalition_metrics import publish as publishing
from coalition_metrics.config import Settings
from coalition_metrics.errors import CoalitionError, TransientSourceError
from coalition_metrics.plan import RunPlan, RunResult


def retry_on_outage(task, task_run, state) -> bool:
    """Retry the extract only for an outage (5xx, 429, timeouts) that outlasted the client's own
    retries; a sharing, credentials or missing-file problem needs a person, not another try."""
    try:
        state.result()
    except TransientSourceError:
        return True
    except Exception:
        return False
    return False


@task(name="extract", timeout_seconds=900, retry_condition_fn=retry_on_outage)
def extract(settings: Settings):
    """Read every tab from the source (one values:batchGet for a Google Sheet). Retries and their
    delays come from [orchestration] extract_retries / extract_retry_delays (see extract_task)."""
    return pipeline.extract(settings)


def extract_task(settings: Settings):
    o = settings.data["orchestration"]
    delays = list(o["extract_retry_delays"]) or [0.0]
    return extract.with_options(retries=o["extract_retries"], retry_delay_seconds=delays)


@task(name="snapshot", timeout_seconds=300)
def snapshot(tabs, plan: RunPlan):
    return pipeline.snapshot(tabs, plan)


@task(name="replay-snapshot", timeout_seconds=300)
def replay(run_or_snapshot: str, plan: RunPlan):
    return pipeline.replay(run_or_snapshot, plan)


@task(name="validate", timeout_seconds=600)
def validate(snap, settings: Settings):
    return pipeline.validate(snap, settings)


@task(name="load-and-transform", timeout_seconds=900)
def build_database(snap, validation, plan: RunPlan):
    return pipeline.build_database(snap, validation, plan)


@task(name="render-and-publish", timeout_seconds=600)
def render_and_publish(snap, validation, plan: RunPlan):
    return publishing.render_and_publish(snap, validation, plan)


@task(name="publish-funder-metrics", timeout_seconds=300)
def publish_funder(snap, validation, plan: RunPlan):
    return publishing.publish_funder(snap, validation, plan)


@task(name="write-back-to-sheet", timeout_seconds=600)
def write_back(plan: RunPlan, result: RunResult, enabled: bool = True):
    """After publish: the funder table to the Google Sheet's [write_back] tab (a no-op for other
    sources). Fails with WriteBackError (the run stays published) when the sheet refuses it."""
    from coalition_metrics.writeback import after_publish

    return after_publish(plan, result, enabled)


def run_stages(plan: RunPlan, publish, from_snapshot: str | None = None) -> RunResult:
    """pipeline.run_stages with each stage a task: extract (or replay) -> snapshot -> validate ->
    load -> transform -> publish (the render_and_publish or publish_funder task)."""
    stages = pipeline.Stages(extract=extract_task(plan.settings), snapshot=snapshot, replay=replay,
                             validate=validate, build_database=build_database)
    return pipeline.run_stages(plan, publish, from_snapshot, stages)


@task(name="artifacts", timeout_seconds=120)
def publish_artifacts(plan: RunPlan, result: RunResult, link_to: str) -> None:
    """A markdown summary (KPIs, alerts), a table of the quarter's funder metrics and a link."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    from coalition_metrics.summary import funder_table, run_summary, summary_markdown

    prefix = plan.flow
    create_markdown_artifact(summary_markdown(plan, result, run_summary(plan, result)), key=f"{prefix}-summary",
                             description=f"{plan.flow} {result.quarter}: KPIs and alerts")
    create_table_artifact(funder_table(result), key=f"{prefix}-funder-metrics",
                          description=f"Funder metrics {result.quarter} (as of {plan.as_of})")
    target = result.folder / link_to
    create_link_artifact(target.as_uri(), link_text=f"{link_to} ({result.quarter}, run {result.run_id})",
                         key=f"{prefix}-output", description=str(target))


@contextmanager
def failure_reported(flow: str, quarter: str | None):
    """A CoalitionError inside leaves a failure artifact with its reason, then fails the run."""
    try:
        yield
    except CoalitionError as exc:
        publish_failure(flow, quarter, exc)
        raise


def publish_failure(flow: str, quarter: str | None, error: Exception) -> None:
    from prefect.artifacts import create_markdown_artifact

    from coalition_metrics.summary import failure_markdown

    create_markdown_artifact(failure_markdown(flow, quarter, error), key=f"{flow}-failure",
                             description=f"Why {flow} {quarter or ''} failed")
