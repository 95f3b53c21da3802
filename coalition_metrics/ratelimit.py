"""The Google Sheets read budget: [source] sheets_reads_per_minute read requests per service account.

Inside a Prefect run (a flow or task run context) every read takes a slot of a Prefect global
concurrency limit used as a rate limit, named ``sheets-reads-<service account email>``, so every
worker of a portfolio (Dask processes, other machines) shares one budget through the Prefect
server. Outside Prefect (``--no-prefect``) the same bucket is kept in a file under a lock
(SharedTokenBucket), so every process of the machine reading with that account takes from it: a
portfolio's worker processes, and two runs at once. Both are the same bucket: at most ``burst``
reads at once (one second's worth, and at least the two reads of one extraction: the tab list and
one values:batchGet), refilled at
``reads_per_minute / 60`` a second, so any window of T seconds holds at most burst + rate * T reads
(a minute: the quota plus one second's worth; a bucket of a full minute's reads would let twice
the quota through in the first minute after a pause). The client retries the odd 429 anyway.

One service account has one budget: a portfolio whose coalitions read with one account but set
different [source] sheets_reads_per_minute reads at the smallest of them for all
(portfolio_budgets, declared in every process that reads: declare_budgets).

A missing limit never means "unlimited": the limit is created (or updated) on the server before
the first read of a process, and slots are taken with ``strict=True``, so if it vanished the read
fails with a clear error instead of passing unthrottled (Prefect's own default, strict=False, only
logs a warning and skips the acquisition).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import math
import os
import stat
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import TransientSourceError

log = logging.getLogger(__name__)

# How long one read waits for its slot before the run is told the budget is exhausted.
SLOT_TIMEOUT_SECONDS = 900.0
# How long a shared bucket keeps refilling at a slower taker's rate after that taker's last read.
SLOWEST_HOLDS_SECONDS = 60.0


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
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return waited
                wait = (1.0 - self._tokens) / self.budget.per_second
            self._sleep(wait)
            waited += wait


class SharedTokenBucket:
    """TokenBucket's arithmetic with its state (tokens, time of the last take) in a file, read and
    written under an exclusive lock (flock), so every process of this machine that takes from the
    same file shares one budget. Wall-clock time, as processes share no monotonic clock; a clock
    that went back counts as no time passed.

    Takers of one account may set different rates (two runs at once, each with its own config): the
    file also keeps the slowest rate a taker has used lately, and every taker refills at it, until
    that taker has taken nothing for SLOWEST_HOLDS_SECONDS (at least three of its own intervals)."""

    def __init__(self, budget: Budget, path: Path, clock=time.time, sleep=time.sleep):
        self.budget, self.path = budget, Path(path)
        self._clock, self._sleep = clock, sleep
        self._alone: TokenBucket | None = None  # this process's own, once the file could not be used

    def take(self) -> float:
        """Wait for one token; the seconds waited. If the file cannot be used (removed with its
        folder, replaced by a folder, made unwritable), this process keeps the budget alone from then
        on, and says so once: a read is never let through unthrottled, nor stopped for it."""
        if self._alone is None:
            try:
                try:
                    return self._take_shared()
                except FileNotFoundError:  # its folder was removed (a cleaner of /tmp): made anew
                    self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    return self._take_shared()
            except OSError as exc:
                log.warning("Google Sheets reads: the shared budget file %s cannot be used (%s); this process "
                            "keeps the budget alone from now on", self.path, exc)
                self._alone = TokenBucket(self.budget, sleep=self._sleep)
        return self._alone.take()

    def _take_shared(self) -> float:
        import fcntl

        waited = 0.0
        while True:
            with self._open() as f:
                fcntl.flock(f, fcntl.LOCK_EX)  # released when the file is closed
                now = self._clock()
                tokens, last, slowest, slowest_at = self._state(f.read(4096), now)
                own = self.budget.reads_per_minute
                if own <= slowest or now - slowest_at > max(SLOWEST_HOLDS_SECONDS, 180.0 / slowest):
                    slowest, slowest_at = own, now
                budget = Budget(min(own, slowest))
                tokens = min(budget.burst, tokens + max(0.0, now - last) * budget.per_second)
                took = tokens >= 1.0 - 1e-9  # a wait of exactly the refill time may land a hair short
                if took:
                    tokens = max(0.0, tokens - 1.0)
                f.seek(0)
                f.truncate()
                f.write(json.dumps({"tokens": tokens, "at": now, "slowest": slowest,
                                    "slowest_at": slowest_at}).encode("ascii"))
                f.flush()
            if took:
                return waited
            wait = (1.0 - tokens) / budget.per_second
            self._sleep(wait)
            waited += wait

    def _open(self):
        """The file, read-write, created if missing; never through a symbolic link, and only a
        regular file (a FIFO or a device there would block or be written over)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", str(self.path))
            return os.fdopen(fd, "r+b", buffering=0)
        except BaseException:
            os.close(fd)
            raise

    def _state(self, raw: bytes, now: float) -> tuple[float, float, int, float]:
        """(tokens, last, slowest rate, when it was last used) from the file, tokens within 0..burst;
        a new, damaged or impossible state (text that is not ours, nan, a negative count) is a full
        bucket at this taker's rate as of now."""
        fresh = (float(self.budget.burst), now, self.budget.reads_per_minute, now)
        try:
            doc = json.loads(raw)
            tokens, last = float(doc["tokens"]), float(doc["at"])
            slowest = int(doc.get("slowest", self.budget.reads_per_minute))
            slowest_at = float(doc.get("slowest_at", now))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError):
            return fresh
        if (not all(math.isfinite(x) for x in (tokens, last, slowest_at)) or not 0.0 <= tokens <= self.budget.burst
                or not 1 <= slowest <= 100_000):
            return fresh
        return tokens, last, slowest, slowest_at


_local_buckets: dict[str, TokenBucket | SharedTokenBucket] = {}
_local_lock = threading.Lock()
_ensured: set[tuple[str, str, int]] = set()
_declared: dict[str, int] = {}


def bucket_file(name: str) -> Path:
    """The file of a limit's shared bucket, one per limit name, in coalition-metrics-sheets-reads-<uid>
    of the system's temporary folder (TMPDIR): one account's processes share a budget when they see
    the same one."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"coalition-metrics-sheets-reads-{os.getuid()}" / f"{digest}.json"


def local_bucket(name: str, budget: Budget) -> TokenBucket | SharedTokenBucket:
    """The bucket of a limit name outside Prefect: shared with the machine's other processes
    through bucket_file, or, when that folder cannot be written, this process's own (logged)."""
    with _local_lock:
        bucket = _local_buckets.get(name)
        if bucket is None or bucket.budget != budget:
            path = bucket_file(name)
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                folder = os.lstat(path.parent)  # our own folder, not a link to one, nor one others write to
                if not stat.S_ISDIR(folder.st_mode) or folder.st_uid != os.getuid() or folder.st_mode & 0o022:
                    raise PermissionError(errno.EPERM, "not a folder of this account's alone", str(path.parent))
                bucket = SharedTokenBucket(budget, path)
                bucket._open().close()
            except OSError as exc:
                log.warning("Google Sheets reads: %s cannot be written (%s); this process keeps the budget of %s "
                            "alone, not shared with other processes", path, exc, name)
                bucket = TokenBucket(budget)
            _local_buckets[name] = bucket
        return bucket


def declare_budgets(budgets: dict[str, int]) -> None:
    """A portfolio's reads per minute by limit name (portfolio_budgets): this process's reads with
    that account use the declared rate, whatever the reading coalition's own setting. Replaces
    what was declared before ({}: every coalition reads at its own rate again)."""
    _declared.clear()
    _declared.update(budgets)


@contextmanager
def budgets_declared(budgets: dict[str, int]):
    """declare_budgets for a portfolio run in this process, undone after it."""
    declare_budgets(budgets)
    try:
        yield budgets
    finally:
        declare_budgets({})


def portfolio_budgets(coalitions) -> dict[str, int]:
    """The read budget of each service account the coalitions read Google Sheets with: by limit
    name, the smallest [source] sheets_reads_per_minute of the coalitions reading with it."""
    from .sources import looks_like_google_sheet

    budgets: dict[str, int] = {}
    for settings in coalitions:
        if not looks_like_google_sheet(settings.source_location):
            continue
        name = limit_name(service_account_of(settings.credentials_file))
        rate = int(settings.data["source"]["sheets_reads_per_minute"])
        budgets[name] = min(rate, budgets.get(name, rate))
    return budgets


def service_account_of(credentials_file: str) -> str | None:
    """The key's client_email; None when it cannot be read (its extract will say why)."""
    try:
        return json.loads(Path(credentials_file).expanduser().read_text(encoding="utf-8-sig")).get("client_email")
    except (OSError, ValueError, AttributeError):
        return None


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
        # a portfolio's one rate for the account (declare_budgets), else the coalition's own
        self.budget = Budget(int(_declared.get(self.name, reads_per_minute)))
        self.shared = in_prefect_run()
        if self.shared:
            log.info("Google Sheets reads: at most %d a minute for %s, shared by every worker through the "
                     "Prefect global concurrency limit %r", self.budget.reads_per_minute,
                     service_account or "default", self.name)
        else:
            log.info("Google Sheets reads: at most %d a minute for %s, kept by this machine's processes (no "
                     "Prefect run, so no server-wide limit)", self.budget.reads_per_minute, service_account or "default")

    def before_read(self) -> None:
        if self.shared:
            _prefect_slot(self.name, self.budget)
        else:
            local_bucket(self.name, self.budget).take()
