"""The `portfolio-run` flow: each coalition's extract -> snapshot -> validate is one Prefect task
(coalition_metrics.portfolio.run.prepare_coalition) on the portfolio's task runner ([orchestration]
task_runner: a Dask cluster through prefect-dask, local or at dask_address, or sequential); a
coalition whose task fails is reported (Failed: its stage and message) and the others go on; then
publish_portfolio builds the one database in the flow's own process (the DuckDB file is written by
this process only) and publishes every prepared coalition, in [orchestration] portfolio_processes
local worker processes for a large portfolio, and the summary.

What crosses to a Dask worker and back is pickled: Settings and RunPlan go out, Prepared (plan,
snapshot, validation frames) or the coalition's error comes back. A worker on another machine
writes the snapshot under the plan's out folder, so that folder must be shared (docs/scaling.md).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Callable

from prefect import flow, task
from prefect.cache_policies import NO_CACHE


@task(name="prepare-coalition", timeout_seconds=1800, cache_policy=NO_CACHE)
def prepare(settings, plan, budgets: dict[str, int] | None = None):
    """extract -> snapshot -> validate of one coalition (in a Dask worker with the dask runner).
    ``budgets``: the portfolio's Sheets read budget of each service account (ensure_sheets_limits)."""
    from coalition_metrics.portfolio.run import prepare_coalition
    from coalition_metrics.ratelimit import declare_budgets

    declare_budgets(budgets or {})
    return prepare_coalition(settings, plan)


def prepare_all(entries: list[tuple[Any, Any]], prepare_task, on_failure: Callable, runner=None,
                budgets: dict[str, int] | None = None) -> tuple[list, list]:
    """One task per (settings, plan), then collected in order: a result is prepared, an error
    becomes ``on_failure(settings, exc, plan)`` (it never fails the flow).

    ``runner`` (orchestration.task_runner_for) is started here, inside the flow run, so a deployed
    flow and `coalition run` use the portfolio's own [orchestration] runner; None submits to the
    flow's task runner. ``budgets``: passed to each task (ensure_sheets_limits)."""
    if runner is None:
        return _collect(entries, [prepare_task.with_options(task_run_name=_run_name(s)).submit(s, plan, budgets)
                                  for s, plan in entries], on_failure)
    with runner:
        futures = [runner.submit(prepare_task.with_options(task_run_name=_run_name(s)),
                                 parameters={"settings": s, "plan": plan, "budgets": budgets})
                   for s, plan in entries]
        return _collect(entries, futures, on_failure)


def _run_name(settings) -> str:
    return f"prepare-{settings.coalition_id}"


def _collect(entries, futures, on_failure) -> tuple[list, list]:
    prepared, failed = [], []
    for (settings, plan), future in zip(entries, futures):
        future.wait()
        try:
            prepared.append(future.result())
        except Exception as exc:  # one coalition's failure is reported; the others publish
            failed.append(on_failure(settings, exc, plan))
    return prepared, failed


def ensure_sheets_limits(coalitions) -> dict[str, int]:
    """Create or update, before any task reads, the global concurrency limit of every service
    account whose Google Sheet the portfolio reads, at the smallest rate its coalitions set
    (ratelimit.portfolio_budgets); the budgets by limit name, for the tasks to declare."""
    from coalition_metrics.ratelimit import Budget, ensure_prefect_limit, portfolio_budgets

    budgets = portfolio_budgets(coalitions)
    for name, per_minute in sorted(budgets.items()):
        ensure_prefect_limit(name, Budget(per_minute))
    return budgets


@flow(name="portfolio-run", log_prints=True, timeout_seconds=3600)
def portfolio_run(config: str, quarter: str | None = None, out: str | None = None, write_back: bool = True):
    """Every coalition of the portfolio file `config`: prepare each on the task runner, then publish.

    quarter: e.g. 2026-Q3; default the portfolio's last completed quarter.
    """
    from coalition_metrics.plan import output_folder_ready
    from coalition_metrics.portfolio.config import load_portfolio
    from coalition_metrics.portfolio.run import failure, plan_coalition, portfolio_quarter, publish_portfolio

    started_at = datetime.now(timezone.utc)
    today = date.today()
    portfolio = load_portfolio(config)
    q = portfolio_quarter(portfolio, quarter, today)
    out_dir = output_folder_ready(out or portfolio.settings.output_folder)
    budgets = ensure_sheets_limits(portfolio.coalitions)
    entries, failed = [], []
    for settings in portfolio.coalitions:
        try:
            entries.append((settings, plan_coalition(settings, q, today, out_dir)))
        except Exception as exc:
            failed.append(failure(settings, exc, None))
    from coalition_metrics.orchestration import task_runner_for

    from coalition_metrics.portfolio.parallel import process_count, process_pool

    from coalition_metrics.ratelimit import budgets_declared

    # every read in this process (a task run here, the write-backs' reads) at the portfolio's rates too
    with budgets_declared(budgets):
        prepared, failed_prepare = prepare_all(entries, prepare, failure, task_runner_for(portfolio.settings), budgets)
        # the one-pass build in this process; each coalition's publishing in [orchestration]
        # portfolio_processes local worker processes (portfolio/parallel.py), as without Prefect
        processes = process_count(portfolio.settings.data["orchestration"]["portfolio_processes"], len(prepared))
        with process_pool(processes) as pool:
            result = publish_portfolio(prepared, failed + failed_prepare, portfolio, q, out_dir, today=today,
                                       write_back=write_back, started_at=started_at, pool=pool)
    print(f"portfolio {result.quarter}: {len(result.published)} published, {len(result.failed)} failed; "
          f"summary {result.folder}")
    return result
