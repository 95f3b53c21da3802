"""What a run is: its plan (quarter, as_of, run id, output folder) and its result. Plain data and
the functions that choose them; nothing here reads the source or writes a file."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import CoalitionError, StorageError, storage_error
from .quarters import Quarter, last_completed

DB_NAME = "coalition.duckdb"
LOCK_NAME = ".coalition.lock"
QUARTERLY_FLOW = "quarterly-report"
REFRESH_FLOW = "refresh-funder-metrics"


@dataclass
class RunPlan:
    settings: Settings
    run_id: str
    quarter: Quarter
    as_of: date
    out_dir: Path
    flow: str = "quarterly-report"
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def db_path(self) -> Path:
        return self.out_dir / DB_NAME

    @property
    def snapshots_dir(self) -> Path:
        return self.out_dir / "snapshots"

    @property
    def publish_dir(self) -> Path:
        """Quarterly runs publish under <out>/<quarter>/, refreshes under <out>/refresh/<quarter>/."""
        if self.flow == REFRESH_FLOW:
            return self.out_dir / "refresh" / self.quarter.label
        return self.out_dir / self.quarter.label


@dataclass
class RunResult:
    run_id: str
    quarter: str
    folder: Path
    report: Path
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # what the command prints under the result



def plan_run(settings: Settings, quarter: str | None = None, today: date | None = None,
             out: str | Path | None = None, flow: str = QUARTERLY_FLOW) -> RunPlan:
    """Choose the quarter (default: the last completed one) and a new run id."""
    fs = settings.fiscal_year_start_month
    today = today or date.today()
    if quarter:
        try:
            q = Quarter.parse(quarter, fs)
        except ValueError as exc:
            raise CoalitionError(f"--quarter {exc}") from None
    else:
        q = last_completed(today, fs)
    if q.start > today:
        raise CoalitionError(f"Quarter {q} has not started yet (today is {today}); pick {last_completed(today, fs)} or earlier.")
    as_of = min(q.end, today)
    now = datetime.now(timezone.utc)
    run_id = new_run_id(now)
    out_dir = Path(out) if out else settings.output_folder
    return RunPlan(settings, run_id, q, as_of, output_folder_ready(out_dir), flow, now)


def new_run_id(now: datetime) -> str:
    """A run id: sortable by start time; the random tail keeps two runs started in the same
    millisecond apart."""
    return now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-{secrets.token_hex(2)}"


def output_folder_ready(out_dir: str | Path) -> Path:
    """The output folder, created if missing and checked to be a folder this process can write,
    so a run that cannot publish stops before it reads the source."""
    import tempfile

    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise StorageError(
            f"The output folder {out_dir} is a file, not a folder. Give a folder with --out (or [output] "
            f"folder in the config); it is created if it does not exist."
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        raise storage_error(exc, f"Preparing the output folder {out_dir}", name_file=False) from None
    return out_dir


def plan_refresh(settings: Settings, as_of: date | str | None = None, today: date | None = None,
                 out: str | Path | None = None) -> RunPlan:
    """A refresh covers the quarter of ``as_of`` (default today) up to as_of."""
    today = today or date.today()
    if isinstance(as_of, str):
        try:
            as_of = date.fromisoformat(as_of)
        except ValueError:
            raise CoalitionError(f"--as-of {as_of!r} is not a date; write it as YYYY-MM-DD.") from None
    as_of = as_of or today
    if as_of > today:
        raise CoalitionError(f"--as-of {as_of} is in the future (today is {today}); figures can only be as of today or earlier.")
    return plan_run(settings, Quarter.of(as_of, settings.fiscal_year_start_month).label, today=as_of, out=out,
                    flow=REFRESH_FLOW)


def with_source(settings: Settings, source: str | None) -> Settings:
    """Settings with ``--source`` (a CSV folder, .xlsx path or Google Sheets URL/key) in place."""
    if not source:
        return settings
    from .sources import looks_like_google_sheet

    location = source if looks_like_google_sheet(source) else str(Path(source).resolve())
    return settings.with_overrides(source={"location": location})
