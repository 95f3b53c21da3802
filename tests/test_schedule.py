"""The quarterly schedule: the next four run times, and the quarter each run reports, for calendar
and fiscal (July) years, computed by Prefect's own cron schedule from the deployment, in-process.
That the server's scheduler really creates these runs is checked against a real server in
tests/test_prefect_server.py (a broken scheduler leaves these tests green)."""

import asyncio
from datetime import date, datetime, timezone

from coalition_metrics.config import load_settings
from coalition_metrics.quarters import last_completed


def _next_runs(settings, n=4, start=datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)):
    from prefect.server.schemas.schedules import CronSchedule

    from flows.deployments import quarterly_cron

    schedule = CronSchedule(cron=quarterly_cron(settings), timezone=settings.data["orchestration"]["timezone"])
    dates = asyncio.run(schedule.get_dates(n=n, start=start))
    return [(d.isoformat(), last_completed(date(d.year, d.month, d.day), settings.fiscal_year_start_month).label)
            for d in dates]


def test_calendar_quarters_next_four_runs():
    s = load_settings(None, environ={}).with_overrides(orchestration={"timezone": "America/New_York"})
    from flows.deployments import quarterly_cron

    assert quarterly_cron(s) == "0 6 1 1,4,7,10 *"
    assert _next_runs(s) == [
        ("2027-01-01T06:00:00-05:00", "2026-Q4"),
        ("2027-04-01T06:00:00-04:00", "2027-Q1"),
        ("2027-07-01T06:00:00-04:00", "2027-Q2"),
        ("2027-10-01T06:00:00-04:00", "2027-Q3"),
    ]


def test_fiscal_year_from_july_next_four_runs():
    """Quarters still start in Jan/Apr/Jul/Oct; each run reports the fiscal quarter just ended."""
    s = load_settings(None, environ={}).with_overrides(quarters={"fiscal_year_start_month": 7},
                                                        orchestration={"timezone": "America/Los_Angeles"})
    from flows.deployments import quarterly_cron

    assert quarterly_cron(s) == "0 6 1 1,4,7,10 *"
    assert _next_runs(s) == [
        ("2027-01-01T06:00:00-08:00", "FY2027-Q2"),
        ("2027-04-01T06:00:00-07:00", "FY2027-Q3"),
        ("2027-07-01T06:00:00-07:00", "FY2027-Q4"),
        ("2027-10-01T06:00:00-07:00", "FY2028-Q1"),
    ]


def test_fiscal_year_from_february_shifts_the_months():
    s = load_settings(None, environ={}).with_overrides(quarters={"fiscal_year_start_month": 2})
    from flows.deployments import quarterly_cron

    assert quarterly_cron(s) == "0 6 1 2,5,8,11 *"
    assert [d for d, _ in _next_runs(s)] == ["2027-02-01T06:00:00+00:00", "2027-05-01T06:00:00+00:00",
                                             "2027-08-01T06:00:00+00:00", "2027-11-01T06:00:00+00:00"]


def test_deployment_carries_the_schedule_and_time_zone():
    from flows.deployments import build_deployments

    quarterly, refresh, audit = build_deployments(None)
    (sched,) = quarterly.schedules
    assert (sched.schedule.cron, sched.schedule.timezone) == ("0 6 1 1,4,7,10 *", "UTC")
    assert refresh.schedules == [] or refresh.schedules is None
    assert audit.schedules == [] or audit.schedules is None  # the audit pack runs on demand
    assert quarterly.entrypoint == "flows.quarterly_report.quarterly_report"
