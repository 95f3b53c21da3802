"""Great Expectations in a process of its own, started as a command begins.

Importing Great Expectations and building its context costs 2.5-4 s on this project's 2-core
machine (1.5-1.7 s less without its SQL and Google backends: suites.gx_context leaves them out), most
of a small run's time, and it needs nothing from the run. ``start()`` (called by the
`coalition` command for a run, refresh, audit, validate or verify that validates in its own
process) forks a process, once pandas and numpy are imported, that imports Great
Expectations on the other core while this one reads the source, snapshots it, checks its rows and
imports what its later stages need. The suites' stacked frames (suites.run_suites) are then sent to that process and the
failing rows come back. The rules, the frames and the Great Expectations calls are those of this
process (``validate_here``); only the process differs.

A batch larger than ``MAX_CELLS`` is validated in this process (sending it would cost more than the
import saves), and the other process is stopped. If the other process is gone or fails, the batch
is validated here, so a failure is reported exactly as without it. Nothing is started on a
single-core machine, in a Prefect flow or a portfolio (their workers import Great Expectations
once each), or by tests that call the command's ``main`` directly."""

from __future__ import annotations

import os
import threading
import traceback
from typing import Any, Callable

from ..collector import keep_imported, release_kept

MAX_CELLS = 2_000_000  # rows x columns of one stacked frame sent to the other process
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["stacked"]}

_lock = threading.Lock()
_worker: "GxProcess | None" = None


class GxProcess:
    """The forked process: it imports Great Expectations, builds the context, says it is ready, then
    answers ("validate", frame, specs, name) requests with validate_here's result until the pipe
    closes (the command's process ended or stop())."""

    def __init__(self, while_waiting: Callable[[], Any] | None = None):
        import multiprocessing

        import numpy  # noqa: F401  (imported before the fork: both processes need them; DuckDB,
        import pandas  # noqa: F401  which that process never uses, is imported after it, here alone)

        keep_imported()  # in this process and the fork
        # fork: the process starts with what this one imported (no second pandas import); it is
        # forked before this process opens a database or starts a thread
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=serve, args=(child, self.conn, os.getpid()), name="coalition-gx", daemon=True)
        self.proc.start()
        child.close()
        self.ready = False
        self.while_waiting = while_waiting

    def validate(self, stacked, specs: list[tuple], name: str) -> list[tuple]:
        if not self.ready:
            if self.while_waiting is not None and not self.conn.poll():
                waiting, self.while_waiting = self.while_waiting, None
                try:
                    waiting()  # the run's later imports, while the other process finishes its own
                except Exception:
                    pass  # only a head start: the stage that needs them imports them and reports
            if self.conn.recv() != ("ready",):
                raise EOFError("the Great Expectations process did not start")
            self.ready = True
        self.conn.send(("validate", stacked, specs, name))
        kind, payload = self.conn.recv()
        if kind != "ok":
            raise RuntimeError(payload)
        return payload

    def close(self, now: bool = False) -> None:
        """End the process: it leaves when it reads the pipe's end; ``now`` kills it at once (it
        holds nothing to save) instead of waiting for an import in progress to finish."""
        try:
            self.conn.close()
        finally:
            if now:
                self.proc.kill()
            self.proc.join(timeout=5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()


def start(while_waiting: Callable[[], Any] | None = None) -> bool:
    """Start the process once; ``while_waiting`` runs in this process if the first batch is ready
    before the other process is (import what later stages need). False when not started."""
    global _worker
    if (os.cpu_count() or 1) < 2:
        return False
    with _lock:
        if _worker is None:
            _worker = GxProcess(while_waiting)
    return True


def stop(now: bool = False) -> None:
    """End the process (the command calls stop(now=True) as it exits, so none is left behind, not
    even as an exited process waiting to be reaped), and hand what start() froze back to the
    garbage collector: a process that then exits normally collects it as it ends (DuckDB's
    bindings report what is never collected as leaks)."""
    global _worker
    with _lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.close(now)
    release_kept()


def running() -> bool:
    return _worker is not None


def take_while_waiting() -> Callable[[], Any] | None:
    """The ``while_waiting`` given to start(), if it has not run yet, for the caller to run (a
    validation made ahead, validate.ahead, waits for the answers elsewhere); None after that."""
    with _lock:
        worker = _worker
        if worker is None:
            return None
        waiting, worker.while_waiting = worker.while_waiting, None
        return waiting


def validate_stacked(stacked, specs: list[tuple], name: str, any_size: bool = False
                     ) -> list[tuple[int, dict | None, list[int]]]:
    """Run the expectations ``specs`` ((type, kwargs, meta with its "stack") each) on ``stacked``:
    for each, (meta "stack", the exception info if it raised, else None, the failing rows' "stacked"
    values). In the other process when it runs and the frame is not too large (``any_size``: whatever
    its size, for a caller that does not wait on the answer: validate.ahead), else here."""
    global _worker
    with _lock:
        worker = _worker
        if worker is not None and (any_size or stacked.size <= MAX_CELLS):
            try:
                return worker.validate(stacked, specs, name)
            except (EOFError, OSError, RuntimeError):  # gone or failed: this process validates, and reports alike
                pass
        if worker is not None:  # too large to send, or failed: this process validates from now on
            _worker = None
            try:
                worker.close()
            except Exception:
                pass
    return validate_here(stacked, specs, name)


def validate_here(stacked, specs: list[tuple], name: str) -> list[tuple[int, dict | None, list[int]]]:
    from .suites import _batch, gx_context

    context = gx_context()  # first: it defers what Great Expectations would import and never use
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    expectations, refused = [], {}
    for kind, kwargs, meta in specs:
        try:
            expectations.append(ExpectationConfiguration(type=kind, kwargs=kwargs, meta=meta).to_domain_obj())
        except Exception as exc:  # arguments Great Expectations refuses (an unknown ignore_row_if)
            refused[meta["stack"]] = {"exception_message": " ".join(str(exc).split())}
    answer = _batch(context, stacked).validate(ExpectationSuite(name=name, expectations=expectations),
                                               result_format=RESULT_FORMAT) if expectations else None
    out = [(stack, raised, []) for stack, raised in refused.items()]
    for r in answer.results if answer is not None else ():
        failing = [int(item["stacked"]) for item in r.result.get("unexpected_index_list") or []]
        raised = _raised(r.exception_info)
        if raised is None and not r.success and not failing:  # failed, yet no row failed: it did not run
            raised = {"exception_message": "Great Expectations found no failing row, yet the expectation failed"}
        out.append((r.expectation_config.meta["stack"], raised, failing))
    return out


def _raised(info) -> dict | None:
    """The error an expectation's result carries, or None. Great Expectations reports it either at
    the top of ``exception_info`` or, when a metric could not be computed (a bound of another type
    than the column's values), under each metric's id; the result then lists no failing row, so an
    error missed here would read as a rule every row passes."""
    if not info:
        return None
    found = [info] if info.get("raised_exception") else \
        [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    if not found:
        return None
    return {"exception_message": "; ".join(sorted({str(f.get("exception_message")) for f in found}))}


def serve(conn, parent_end, parent: int) -> None:
    """The other process's loop. It ends when the pipe closes (the command's process called stop()
    or ended) or that process is gone."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the command, which ends this process
    parent_end.close()  # this process's copy of the command's end: the pipe closes when that process ends
    quiet = os.open(os.devnull, os.O_WRONLY)
    # Nothing here writes to the command's output, nor holds its stdout and stderr open once it ends
    # (a pipe reading them would wait for this process); errors come back through the pipe.
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    try:
        from .suites import gx_context

        gx_context()
        ready = ("ready",)
    except Exception:
        ready = ("failed", traceback.format_exc())
    try:
        conn.send(ready)
    except (EOFError, OSError):  # the command ended first (an error, or nothing to validate)
        return
    if ready != ("ready",):
        return
    while True:
        try:
            while not conn.poll(1.0):
                if os.getppid() != parent:
                    return
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = ("ok", validate_here(*request[1:]))
        except BaseException:
            reply = ("error", traceback.format_exc())
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
