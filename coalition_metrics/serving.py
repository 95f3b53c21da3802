"""`coalition serve`: register the deployments with a running Prefect server and run their flow
runs until SIGTERM or Ctrl-C, stopping cleanly (and within seconds) even when the server is gone."""

from __future__ import annotations

import logging

from .errors import CoalitionError
from .orchestration import add_log_filter, quiet_prefect_console

# How long `coalition serve` waits for Prefect's own shutdown (pausing the schedules through the
# API) after SIGTERM/SIGINT before it exits anyway: systemd's default stop timeout is 90 s, ours 10 s.
STOP_GRACE_SECONDS = 6.0
# How often serve checks that its server still answers, and after how many misses in a row it stops.
HEALTH_EVERY_SECONDS = 5.0
HEALTH_MISSES = 3


def server_health(api_url: str, timeout: float = 5.0) -> str | None:
    """None when the Prefect server at api_url answers its health check, else why not (one line)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as r:
            return None if r.status == 200 else f"it answered HTTP {r.status}"
    except urllib.error.HTTPError as exc:
        return f"it answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason) or type(exc).__name__


def _no_server(api_url: str, reason: str) -> CoalitionError:
    return CoalitionError(
        f"No Prefect server answers at {api_url} (PREFECT_API_URL): {reason}. Start one with `make server` "
        f"(or `systemctl start coalition-prefect-server`, see deploy/systemd/), wait until it prints its "
        f"address, then run `coalition serve` again; if the server runs elsewhere, set PREFECT_API_URL to "
        f"its address ending in /api."
    )


class _ServeLogFilter(logging.Filter):
    """While the server is unreachable Prefect's background loops log each failed call with a
    traceback: keep the one-line message (serve itself says what to do). Once serve is stopping,
    asyncio's reports about tasks Prefect leaves behind at shutdown are dropped, and so is any
    report of the stop itself: the KeyboardInterrupt that _Stopper.stop raises lands in whatever
    Prefect loop is running at that instant (e.g. its cancellation observer reconnecting its event
    stream), which would log it as its own failure, with a traceback."""

    def __init__(self, stopping):
        super().__init__()
        self.stopping = stopping

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "asyncio" and self.stopping.is_set():
            return False
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, KeyboardInterrupt) and self.stopping.is_set():
            return False
        if exc is not None and _is_connection_error(exc):
            record.exc_info, record.exc_text = None, None
        return True


def _is_connection_error(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"OSError", "TransportError", "WebSocketException", "TimeoutException"}) or (
        type(exc).__module__.startswith("websockets"))


class _Stopper:
    """SIGTERM and SIGINT (and the health watchdog) end `coalition serve` the same way: Prefect's
    runner is asked to stop (it pauses the schedules, so no runs pile up while nobody serves), and a
    timer makes sure the process is gone STOP_GRACE_SECONDS later even if the server no longer
    answers and that shutdown hangs in retries."""

    def __init__(self, api_url: str):
        import threading

        self.api_url = api_url
        self.reason: str | None = None  # None: asked to stop; else the server stopped answering
        self.stopping = threading.Event()

    def stop(self, signum=None, frame=None) -> None:
        import threading

        if self.stopping.is_set():
            self._exit_now()  # a second signal: no more waiting
        self.stopping.set()
        timer = threading.Timer(STOP_GRACE_SECONDS, self._exit_now)
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    def _exit_now(self) -> None:
        import os
        import sys

        if self.reason:
            print(f"error: {self.message()}", file=sys.stderr, flush=True)
            os._exit(2)
        print(self.message() + f" Prefect's shutdown (pausing the schedules through the API) did not finish "
              f"within {STOP_GRACE_SECONDS:.0f} s and was cut short.", file=sys.stderr, flush=True)
        os._exit(0)

    def message(self) -> str:
        if self.reason:
            return str(_no_server(self.api_url, f"it stopped answering ({self.reason}); coalition serve stopped"))
        return "coalition serve stopped."

    def watch(self) -> None:
        """In a thread: stop serve (exit 2) once the server has missed HEALTH_MISSES checks in a row,
        before Prefect's own loops start printing tracebacks about it."""
        import signal

        misses = 0
        while not self.stopping.wait(HEALTH_EVERY_SECONDS):
            reason = server_health(self.api_url, timeout=HEALTH_EVERY_SECONDS)
            misses = misses + 1 if reason else 0
            if misses >= HEALTH_MISSES and not self.stopping.is_set():
                self.reason = reason
                signal.raise_signal(signal.SIGTERM)  # handled in the main thread, as a stop
                return


def _runner_failed(api_url: str, exc: Exception) -> CoalitionError:
    """Prefect's runner raised (while registering the deployments, starting or polling): when the
    server no longer answers that is the cause to report, else Prefect's own one-line reason."""
    reason = server_health(api_url)
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if reason:
        return _no_server(api_url, f"it stopped answering ({reason}) and Prefect's runner gave up: {detail}")
    return CoalitionError(
        f"Prefect's runner stopped with an error while serving against {api_url}: {detail}. The server "
        f"still answers; run `coalition serve` again, and if this repeats check the server's log."
    )


def serve(config: str | None = None) -> int:
    """Register the deployments with the Prefect API (PREFECT_API_URL) and run their flow runs
    until stopped (SIGTERM or Ctrl-C, within about STOP_GRACE_SECONDS). The quarterly one carries
    its schedule; the refresh runs on demand."""
    import asyncio
    import os
    import signal
    import sys
    import threading

    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        raise CoalitionError(
            "coalition serve needs a Prefect server: start one with `make server` (or `.venv/bin/prefect "
            "server start`), then set PREFECT_API_URL=http://127.0.0.1:4200/api and run again."
        )
    reason = server_health(api_url)
    if reason:
        raise _no_server(api_url, reason)

    from prefect.runner import Runner

    from flows.deployments import build_deployments

    deployments = build_deployments(config)
    quiet_prefect_console()
    stopper = _Stopper(api_url)
    add_log_filter(_ServeLogFilter(stopper.stopping))

    class _ServeRunner(Runner):
        def handle_sigterm(self, *args, **kwargs):  # Prefect's own handler calls sys.exit mid-loop
            stopper.stop()

        async def __aenter__(self):
            # "Serving" is said once the runner holds its API client and event stream, so a
            # supervisor (or a test) that sees it knows the runner is really up.
            entered = await super().__aenter__()
            print(f"Serving {names} against {api_url}; SIGTERM or Ctrl-C stops.", flush=True)
            threading.Thread(target=stopper.watch, name="coalition-serve-health", daemon=True).start()
            return entered

    names = ", ".join(f"{d.flow_name}/{d.name}" for d in deployments)
    runner = _ServeRunner(pause_on_shutdown=True)
    previous = {s: signal.signal(s, stopper.stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for deployment in deployments:
            runner.add_deployment(deployment)
        asyncio.run(runner.start())
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # the runner gave up: say why in one paragraph, never a traceback
        if not stopper.stopping.is_set():
            raise _runner_failed(api_url, exc) from None
        # else it gave up while stopping (the server gone): the stop's own message follows
    finally:
        stopper.stopping.set()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopper.reason:
        raise CoalitionError(stopper.message())
    print(stopper.message(), file=sys.stderr)
    return 0
