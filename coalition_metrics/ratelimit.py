"""The Google Sheets read budget: [source] sheets_reads_per_minute read requests per service account.

Inside a Prefect run (a flow or task run context) every read takes a slot of a Prefect global
concurrency limit used as a rate limit, named ``sheets-reads-<service account email>``, so every
worker of a portfolio (Dask processes, other machines) shares one budget through the Prefect
server. Outside Prefect (``--no-prefect``) the process keeps the same budget itself with a token
bucket. Both are the same bucket: at most ``burst`` reads at once (one second's worth, and at least
the two reads of one extraction: the tab list and one values:batchGet), refilled at
``reads_per_minute / 60`` a second, so any window of T seconds holds at most burst + rate * T reads
(a minute: the quota plus one second's worth; a bucket of a full minute's reads would let twice
the quota through in the first minute after a pause). The client retries the odd 429 anyway.

A missing limit never means "unlimited": the limit is created (or updated) on the server before
the first read of a process, and slots are taken with ``strict=True``, so if it vanished the read
fails with a clear error instead of passing unthrottled (Prefect's own default, strict=False, only
logs a warning and skips the acquisition).
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from dataclasses import dataclass

from .errors import TransientSourceError

log = logging.getLogger(__name__)

# How long one read waits for its slot before the run is told the budget is exhausted.
SLOT_TIMEOUT_SECONDS = 900.0


def limit_name(service_account: str | None) -> str:
    """The global concurrency limit of a service account's reads."""
    return f"sheets-reads-{service_account or 'default'}"


@dataclass(frozen=True)
class Budget:
    reads_per_minute: int

    @property
    def burst(self) -> int:
        """Slots of the bucket: one second's worth of reads, at least one extraction's two."""
        return max(2, math.ceil(self.reads_per_minute / 60))

    @property
    def per_second(self) -> float:
        return self.reads_per_minute / 60.0


class TokenBucket:
    """A thread-safe token bucket: ``take()`` blocks until a read may go out."""

    def __init__(self, budget: Budget, clock=time.monotonic, sleep=time.sleep):
        self.budget = budget
        self._clock, self._sleep = clock, sleep
        self._tokens = float(budget.burst)
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Wait for one token; the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.budget.burst, self._tokens + (now - self._last) * self.budget.per_second)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                wait = (1.0 - self._tokens) / self.budget.per_second
            self._sleep(wait)
            waited += wait


_local_buckets: dict[tuple[str, int], TokenBucket] = {}
_local_lock = threading.Lock()
_ensured: set[tuple[str, str, int]] = set()


def local_bucket(name: str, budget: Budget) -> TokenBucket:
    """One bucket per limit name and rate in this process."""
    with _local_lock:
        return _local_buckets.setdefault((name, budget.reads_per_minute), TokenBucket(budget))


def in_prefect_run() -> bool:
    """True inside a Prefect flow or task run (Prefect never imported means no run)."""
    if "prefect" not in sys.modules:
        return False
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def ensure_prefect_limit(name: str, budget: Budget) -> None:
    """Create the global concurrency limit, or set its limit and decay, on the current Prefect API
    (idempotent; once per process, API and rate)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        key = (str(client.api_url), name, budget.reads_per_minute)
        if key in _ensured:
            return
        want = {"limit": budget.burst, "slot_decay_per_second": budget.per_second}
        try:
            current = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, active=True, **want))
            except ObjectAlreadyExists:  # another worker created it meanwhile
                current = client.read_global_concurrency_limit_by_name(name)
            else:
                current = None
        if current is not None and (current.limit != want["limit"] or not current.active
                                    or current.slot_decay_per_second != want["slot_decay_per_second"]):
            client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active=True, **want))
        _ensured.add(key)


def _prefect_slot(name: str, budget: Budget) -> None:
    from prefect.concurrency.sync import rate_limit
    from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError

    try:
        ensure_prefect_limit(name, budget)
        rate_limit(name, occupy=1, timeout_seconds=SLOT_TIMEOUT_SECONDS, strict=True)
    except ConcurrencySlotAcquisitionError as exc:
        raise TransientSourceError(
            f"The Google Sheets read budget could not be taken from the Prefect server (global "
            f"concurrency limit {name!r}: {exc}). Nothing was read unthrottled; check that the Prefect "
            f"server is reachable and the limit exists (`prefect gcl ls`), then run again."
        ) from None
    except TimeoutError:
        raise TransientSourceError(
            f"No Google Sheets read slot came free within {SLOT_TIMEOUT_SECONDS:.0f} s (global concurrency "
            f"limit {name!r}); other runs are using the service account's budget. Try again later or raise "
            f"[source] sheets_reads_per_minute if the account's quota allows."
        ) from None


class SheetsReadLimiter:
    """``before_read()`` before every Sheets read request of one service account."""

    def __init__(self, service_account: str | None, reads_per_minute: int):
        self.name = limit_name(service_account)
        self.budget = Budget(int(reads_per_minute))
        self.shared = in_prefect_run()
        if self.shared:
            log.info("Google Sheets reads: at most %d a minute for %s, shared by every worker through the "
                     "Prefect global concurrency limit %r", self.budget.reads_per_minute,
                     service_account or "default", self.name)
        else:
            log.info("Google Sheets reads: at most %d a minute for %s, kept by this process (no Prefect run, "
                     "so no shared limit)", self.budget.reads_per_minute, service_account or "default")

    def before_read(self) -> None:
        if self.shared:
            _prefect_slot(self.name, self.budget)
        else:
            local_bucket(self.name, self.budget).take()
