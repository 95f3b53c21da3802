"""Replay a published run: rebuild its database privately from its snapshot, with its own saved
config, quarter and as_of, by the same validate -> load -> transform code the pipeline runs.

``replay_run(run_id, out_dir)`` needs nothing but the output folder: the run folder's manifest.json
(quarter, as_of, snapshot id) and config.json (the run's resolved settings, saved by publish.py),
and the snapshot under ``<out>/snapshots``. It builds raw, staging, marts, quarantine and ref in a
database in a temporary folder, publishes nothing, and never writes the shared coalition.duckdb,
the run folders or the snapshots. A run published before config.json existed is replayed with the
settings given (by default the current config), and ``Replay.config_source`` says so.

`coalition verify` (verify.py) uses the pieces (find_run, run_settings, build_replay) to compare a
replay with what the run published; `coalition explain` reads a run's rows from a replay.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import CoalitionError, ConfigError, SnapshotError
from .plan import RunPlan
from .publish import CONFIG_FILE
from .quarters import Quarter
from .snapshot import Snapshot, load_snapshot

# Put in place of the credentials file's path (config.json keeps only whether there was one): a
# replay reads the snapshot, never the source, and the placeholder keeps the config hash unchanged.
CREDENTIALS_WITHHELD = "(withheld: config.json records only that a credentials file was set)"


@dataclass(frozen=True)
class RunInfo:
    """A published run, as its folder records it."""
    run_id: str
    flow: str
    quarter: str
    as_of: date
    snapshot_id: str
    output_folder: Path  # the run folder
    out_dir: Path  # the output folder holding it (snapshots, coalition.duckdb)
    manifest: dict[str, Any] = field(repr=False)

    @property
    def snapshot_read_on(self) -> date | None:
        read_on = (self.manifest.get("snapshot") or {}).get("read_on")
        return date.fromisoformat(read_on) if read_on else None


def find_run(run_id: str, out_dir: str | Path, command: str = "replay") -> RunInfo:
    """The published run ``run_id`` names (its id or a unique prefix of 8+ characters, the rule
    --from-snapshot follows) under ``out_dir``, from its manifest."""
    from .runs import published_run_for

    out_dir = Path(out_dir).resolve()
    folder = published_run_for(run_id, out_dir, command)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return RunInfo(manifest["run_id"], manifest["flow"], manifest["quarter"],
                       date.fromisoformat(manifest["as_of"]), manifest["snapshot"]["id"], folder, out_dir, manifest)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(
            f"The manifest {folder / 'manifest.json'} cannot be read ({type(exc).__name__}: {exc}); it names the "
            f"run's quarter, as_of and snapshot, so the run cannot be replayed. Restore the run folder from a backup."
        ) from None


def saved_config(run: RunInfo) -> dict[str, Any] | None:
    """The run's config.json as saved (None for a run published before runs saved their config)."""
    path = run.output_folder / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"The run's saved config {path} cannot be read: {exc}.") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"The run's saved config {path} is not a table of settings.")
    return doc


def saved_config_hash(doc: dict[str, Any]) -> str:
    """The config hash of a saved config.json, by Settings.config_hash itself (so the two agree):
    equal to the manifest's config_hash unless the file was edited."""
    return Settings(_with_credentials_placeholder(doc)).config_hash()


def settings_from_saved(doc: dict[str, Any], where: str) -> Settings:
    """Settings from a saved config.json, checked as a config file is (defaults for any setting it
    lacks, e.g. one added to the code since the run)."""
    from . import config

    data = copy.deepcopy(config.DEFAULTS)
    config._merge(data, _with_credentials_placeholder(doc), where)
    config._check_values(data, where)
    return Settings(data, None, Path.cwd())


def _with_credentials_placeholder(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    source = doc.get("source")
    if isinstance(source, dict) and isinstance(source.get("credentials_file"), bool):
        source["credentials_file"] = CREDENTIALS_WITHHELD if source["credentials_file"] else ""
    return doc


def run_settings(run: RunInfo, current: Settings | None = None) -> tuple[Settings, str]:
    """(the settings to replay ``run`` with, "saved" or "current"): its saved config.json, else (a run
    published before runs saved their config) ``current``, by default the config coalition reads now."""
    doc = saved_config(run)
    if doc is not None:
        return settings_from_saved(doc, str(run.output_folder / CONFIG_FILE)), "saved"
    if current is None:
        from .config import load_settings

        current = load_settings()
    return current, "current"


class Replay:
    """A run rebuilt in a private database: ``con`` (DuckDB, raw/staging/marts/quarantine/ref as the
    run built them, with the cm_* SQL functions registered), ``run`` (RunInfo), ``settings`` (the
    run's), ``config_source`` ("saved" or "current"), ``snapshot`` and ``validation``. Use it as a
    context manager: leaving it closes the connection and deletes the private folder."""

    def __init__(self, run: RunInfo, settings: Settings, config_source: str, snapshot: Snapshot,
                 validation, plan: RunPlan, folder: Path):
        self.run, self.settings, self.config_source = run, settings, config_source
        self.snapshot, self.validation, self.plan, self.folder = snapshot, validation, plan, folder
        self.con = None

    def open(self) -> "Replay":
        from .coalition_db import coalition_view
        from .load import connect
        from .transform import register_functions

        self._db = connect(self.plan.db_path)
        register_functions(self._db, self.settings)
        # the replayed coalition's tables under their usual names (coalition_db.coalition_view)
        self._view = coalition_view(self._db, self.settings.coalition_id)
        self.con = self._view.con
        return self

    def close(self) -> None:
        if self.con is not None:
            self._view.close()
            self._db.close()
            self.con = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "Replay":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False


def replay_run(run_id: str, out_dir: Path, *, work_dir: Path | None = None,
               current: Settings | None = None) -> Replay:
    """Rebuild the published run ``run_id`` (or a unique prefix) of ``out_dir`` in a private database
    under ``work_dir`` (default: the system's temporary folder). The snapshot's files are checked
    against their hashes (a damaged snapshot is a SnapshotError). ``current``: the settings for a run
    published before runs saved their config (default: the config coalition reads now)."""
    run = find_run(run_id, out_dir)
    settings, source = run_settings(run, current)
    snap = load_snapshot(run.snapshot_id, run.out_dir / "snapshots")
    return build_replay(run, settings, source, snap, work_dir)


def build_replay(run: RunInfo, settings: Settings, config_source: str, snap: Snapshot,
                 work_dir: Path | None = None) -> Replay:
    """validate -> load -> transform ``snap`` with ``settings``, the run's quarter and as_of, into a
    new private folder; the pipeline's own stage functions, nothing published."""
    from .pipeline import build_database, validate

    try:
        quarter = Quarter.parse(run.quarter, settings.fiscal_year_start_month)
    except ValueError as exc:
        raise CoalitionError(f"Run {run.run_id}'s quarter {run.quarter!r} does not read with its config's "
                             f"[quarters] fiscal_year_start_month: {exc}") from None
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"replay-{run.run_id}-", dir=work_dir))
    try:
        plan = RunPlan(settings, run.run_id, quarter, run.as_of, folder, run.flow)
        validation = validate(snap, settings)
        build_database(snap, validation, plan, lineage=True)
        return Replay(run, settings, config_source, snap, validation, plan, folder).open()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
