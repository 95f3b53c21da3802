"""The `audit-satisfaction` flow: the satisfaction audit pack for evaluators (docs/audit.md).

The same stage tasks as `quarterly-report` (extract -> snapshot -> validate -> load-and-transform,
or replay-snapshot), then `audit-pack`, which calls coalition_metrics.audit.pack.publish_audit.
Parameters are plain values, so the deployment exposes them in the UI.
"""

from __future__ import annotations

from prefect import flow, task

from coalition_metrics.audit.pack import AUDIT_FLOW, audit_settings, plan_audit, publish_audit
from coalition_metrics.config import load_settings
from coalition_metrics.plan import RunResult, with_source
from flows import tasks


@task(name="audit-pack", timeout_seconds=900)
def audit_pack(snap, validation, plan):
    return publish_audit(snap, validation, plan)


@flow(name=AUDIT_FLOW, log_prints=True, timeout_seconds=3600)
def audit_satisfaction(config: str | None = None, wave_from: str | None = None, wave_to: str | None = None,
                       source: str | None = None, out: str | None = None,
                       from_snapshot: str | None = None) -> RunResult:
    """The audit pack (audit.html, audit.xlsx, charts) for the survey waves wave_from .. wave_to.

    wave_from: first wave, e.g. 2025-Q1 (default: the first quarter with data).
    wave_to: last wave (default: the last completed quarter).
    from_snapshot: a run id or snapshot id to audit instead of reading the source; a published run is
        audited with the config it was published with, up to its quarter (unless wave_to is given).
    """
    with tasks.failure_reported(AUDIT_FLOW, wave_to):
        current = with_source(load_settings(config), source)
        settings, run_quarter = audit_settings(current, from_snapshot, out)
        plan = plan_audit(settings, wave_from, wave_to or run_quarter, out=out or current.output_folder)
    with tasks.failure_reported(AUDIT_FLOW, plan.quarter.label):
        result = tasks.run_stages(plan, audit_pack, from_snapshot)
    _link(result)
    print(f"published {result.folder}")
    return result


def _link(result: RunResult) -> None:
    from prefect.artifacts import create_link_artifact

    create_link_artifact(result.report.as_uri(), link_text=f"audit.html ({result.quarter}, run {result.run_id})",
                         key=f"{AUDIT_FLOW}-output", description=str(result.report))
