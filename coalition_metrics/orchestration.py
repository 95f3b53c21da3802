"""Run the Prefect flows from the command line, with a console that leaves explaining errors to the
CLI (Prefect is imported only here, in serving.py and in flows/)."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

from .errors import CoalitionError

_TIMEOUT_NAMES = {"TaskRunTimeoutError", "FlowRunTimeoutError", "CancelledError", "TimeoutError"}
_ERROR_NAMES = tuple(cls.__name__ for cls in (CoalitionError, *CoalitionError.__subclasses__()))


def _subclasses(cls) -> list[type]:
    return [cls] + [s for sub in cls.__subclasses__() for s in _subclasses(sub)]


# OS-level failures the CLI explains (a full disk, a read-only folder); TimeoutError is a time limit
# and connection errors belong to Prefect's own client (serve reports them itself).
_OS_ERROR_NAMES = tuple(sorted({c.__name__ for c in _subclasses(OSError) if c.__module__ == "builtins"}
                               - _TIMEOUT_NAMES - {c.__name__ for c in _subclasses(ConnectionError)}))


class ActionableErrorFilter(logging.Filter):
    """Keep Prefect's console quiet about errors the CLI explains itself.

    A CoalitionError (bad config, bad sheet, blocking validation) is printed once by the CLI as a
    paragraph that says what to fix; Prefect's own log lines for it would repeat it three times
    with tracebacks. The failure is still recorded in Prefect's run state and the runs table.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ in _TIMEOUT_NAMES:
            # A run past its time limit: keep Prefect's one-line message, drop the traceback.
            record.exc_info, record.exc_text = None, None
            return True
        if isinstance(exc, CoalitionError) or (isinstance(exc, OSError) and not isinstance(exc, ConnectionError)):
            return False  # the CLI prints one paragraph for it (an OSError: what to do by its errno)
        return not any(name + "(" in record.getMessage() or name + ":" in record.getMessage()
                       for name in _ERROR_NAMES + _OS_ERROR_NAMES)


def quiet_prefect_console() -> None:
    """Attach the filter to every handler Prefect's logging set-up created."""
    add_log_filter(ActionableErrorFilter())


def run_flow(config: str | None = None, **kwargs):
    """Run `quarterly-report` in-process: against PREFECT_API_URL if set, else ephemeral mode."""
    from flows.quarterly_report import quarterly_report

    quiet_prefect_console()
    return _finished(quarterly_report, config, kwargs)


def run_refresh_flow(config: str | None = None, **kwargs):
    """Run `refresh-funder-metrics` in-process."""
    from flows.refresh_funder_metrics import refresh_funder_metrics

    quiet_prefect_console()
    return _finished(refresh_funder_metrics, config, kwargs)


def run_audit_flow(config: str | None = None, **kwargs):
    """Run `audit-satisfaction` in-process."""
    from flows.audit_satisfaction import audit_satisfaction

    quiet_prefect_console()
    return _finished(audit_satisfaction, config, kwargs)


def _finished(flow, config: str | None, kwargs: dict):
    """Run the flow with the backstop timeout; its result, or the error a person can act on.

    The run's own limit ([orchestration] flow_timeout_seconds) is checked between stages and fails
    with RunTimedOut; Prefect's timeout fires only for a stage that hangs well past it."""
    from .config import load_settings
    from .pipeline import hard_time_limit

    limit = hard_time_limit(load_settings(config))
    state = flow.with_options(timeout_seconds=limit)(config=_absolute(config), return_state=True, **kwargs)
    try:
        return state.result()
    except CoalitionError:
        raise
    except Exception:
        if state.name == "TimedOut":
            raise CoalitionError(
                f"The {flow.name} run was stopped by Prefect after {limit:.0f} s (a stage hung past "
                f"[orchestration] flow_timeout_seconds) and marked failed; nothing was published by it. "
                f"If the source is slow, raise the limit; if it stopped after its snapshot, resume with "
                f"--from-snapshot RUN_ID (see `coalition runs`)."
            ) from None
        raise


def _absolute(path: str | None) -> str | None:
    from pathlib import Path

    return str(Path(path).resolve()) if path else None


def add_log_filter(log_filter: logging.Filter) -> None:
    """On every handler Prefect's logging set-up created (asyncio logs through the root's)."""
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict) if name.startswith("prefect")
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, type(log_filter)) for f in handler.filters):
                handler.addFilter(log_filter)


def task_runner_for(settings):
    """The Prefect task runner of a portfolio's per-coalition tasks ([orchestration] task_runner).

    "dask": prefect-dask's DaskTaskRunner, on a local cluster of dask_workers processes (one thread
    each: validation holds the GIL, so processes, not threads, give parallelism), or on the running
    dask.distributed scheduler at dask_address. "sequential": Prefect's ThreadPoolTaskRunner with
    one thread, so the tasks run one after another in the flow's process."""
    o = settings.data["orchestration"]
    if o["task_runner"] == "sequential":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=1)
    from prefect_dask import DaskTaskRunner

    address = o["dask_address"].strip()
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": o["dask_workers"], "processes": True,
                                          "threads_per_worker": 1, "dashboard_address": None})


def run_portfolio_flow(config: str, **kwargs):
    """Run `portfolio-run` in-process; its PortfolioResult. The flow starts the portfolio's task
    runner itself (flows/portfolio_run.prepare_all), so a deployment run does the same."""
    from flows.portfolio_run import portfolio_run

    from .pipeline import hard_time_limit
    from .portfolio.config import load_portfolio

    settings = load_portfolio(config).settings
    quiet_prefect_console()
    with shared_prefect_api(settings):
        flow = portfolio_run.with_options(timeout_seconds=hard_time_limit(settings))
        state = flow(config=_absolute(config), return_state=True, **kwargs)
        return state.result()


class _SharedApi:
    url: str | None = None


@contextmanager
def shared_prefect_api(settings):
    """Every Dask worker must report to, and take Sheets read slots from, the flow's own Prefect API.

    With PREFECT_API_URL set that is the configured server. Without it Prefect runs in ephemeral
    mode, and each worker process would start an ephemeral server of its own (task runs lost, the
    read budget not shared): so the flow's temporary local server is started here first and its
    URL set in this process's settings (prefect-dask sends them with every task) and exported. A remote scheduler's
    workers cannot reach it: that needs a Prefect server they can reach (ConfigError)."""
    from prefect.settings import PREFECT_API_URL

    o = settings.data["orchestration"]
    if PREFECT_API_URL.value() or o["task_runner"] != "dask":
        yield
        return
    if o["dask_address"].strip():
        from .errors import ConfigError

        raise ConfigError(
            f"[orchestration] dask_address = {o['dask_address']!r} runs the coalitions on another machine's "
            f"workers, which need a Prefect server they can reach: start one (`make server` there, or "
            f"any Prefect server) and set PREFECT_API_URL to its API (http://host:4200/api) here and on the "
            f"workers. See docs/scaling.md.")
    if _SharedApi.url is None:
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()  # the same singleton Prefect's own ephemeral mode uses
        server.start(timeout=int(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")))
        _SharedApi.url = server.api_url
    from prefect.settings import temporary_settings

    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = _SharedApi.url  # for worker processes started from here
    try:
        # and in this process's settings: prefect-dask sends them with each task, over the env
        with temporary_settings({PREFECT_API_URL: _SharedApi.url}):
            yield
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
