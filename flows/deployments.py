"""The deployments `coalition serve` registers and serves:

- `quarterly-report/quarterly-report`: cron `0 6 1 1,4,7,10 *` (06:00 on the first day of each
  quarter) in [orchestration] timezone; a fiscal year shifts the months (start month 2: Feb, May,
  Aug, Nov). Its run reports the quarter that just ended.
- `refresh-funder-metrics/refresh-funder-metrics`: no schedule; run it from the UI, with
  `prefect deployment run refresh-funder-metrics/refresh-funder-metrics`, or `coalition refresh`.
- `audit-satisfaction/audit-satisfaction`: no schedule; the evaluators' satisfaction audit pack
  (docs/audit.md), from the UI, with `prefect deployment run audit-satisfaction/audit-satisfaction`,
  or `coalition audit satisfaction`.

Each exposes its parameters (config, source, out, quarter/as_of or wave_from/wave_to,
from_snapshot, write_back) in the UI.
"""

from __future__ import annotations

from prefect.deployments.runner import EntrypointType
from prefect.schedules import Cron

from coalition_metrics.config import Settings, load_settings
from coalition_metrics.pipeline import hard_time_limit
from flows.audit_satisfaction import audit_satisfaction
from flows.quarterly_report import quarterly_report
from flows.refresh_funder_metrics import refresh_funder_metrics


def quarter_start_months(settings: Settings) -> list[int]:
    fs = settings.fiscal_year_start_month
    return sorted((fs - 1 + 3 * k) % 12 + 1 for k in range(4))


def quarterly_cron(settings: Settings) -> str:
    """06:00 on the first day of each quarter: '0 6 1 1,4,7,10 *' for calendar quarters."""
    return f"0 6 1 {','.join(str(m) for m in quarter_start_months(settings))} *"


def build_deployments(config: str | None = None):
    settings = load_settings(config)
    o = settings.data["orchestration"]
    quarterly = quarterly_report.with_options(timeout_seconds=hard_time_limit(settings)).to_deployment(
        name="quarterly-report",
        schedules=[Cron(quarterly_cron(settings), timezone=o["timezone"])],
        parameters={"config": config},
        description="The quarterly report for the last completed quarter, on the first day of each quarter.",
        tags=["coalition-metrics"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    refresh = refresh_funder_metrics.with_options(timeout_seconds=hard_time_limit(settings)).to_deployment(
        name="refresh-funder-metrics",
        parameters={"config": config},
        description="Funder metrics for the current quarter to date (as_of: YYYY-MM-DD, default today).",
        tags=["coalition-metrics"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    audit = audit_satisfaction.with_options(timeout_seconds=hard_time_limit(settings)).to_deployment(
        name="audit-satisfaction",
        parameters={"config": config},
        description="The satisfaction audit pack (audit.html, audit.xlsx) for survey waves wave_from .. wave_to "
                    "(default: every wave up to the last completed quarter).",
        tags=["coalition-metrics"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return [quarterly, refresh, audit]
