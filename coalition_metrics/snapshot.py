"""Snapshot: every extracted tab, unchanged, in an immutable content-hashed folder.

Layout under ``<output>/snapshots/<snapshot_id>/``:
- ``<tab>.json``: ``{"tab", "title", "present", "header", "rows": [[sheet_row, [cells...]], ...]}``
  as canonical JSON; its SHA-256 is the tab's hash;
- ``snapshot.json``: the tab hashes and ``read_on``, the day the source was read; the snapshot id
  is the SHA-256 of this file.
``read_on`` is the "today" of the checks that depend on the day ("measured_on not in the
future"), so a replay months later validates exactly as the first run did: same snapshot, same
config, same code, same metrics. The same cells read on the same day give the same id, so
re-extracting an unchanged sheet that day reuses its snapshot.
Files are written once, made read-only, and checked against their hashes when read back.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .errors import SnapshotError
from .sources import RawTab


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    folder: Path
    tab_hashes: dict[str, str]
    tabs: dict[str, RawTab]
    read_on: date | None = None  # None only for snapshots written before read_on was recorded


def _canonical(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _tab_document(tab: RawTab) -> dict:
    return {
        "tab": tab.name,
        "title": tab.title,
        "present": tab.present,
        "header": tab.header,
        "rows": [[n, cells] for n, cells in tab.rows],
    }


def take_snapshot(tabs: dict[str, RawTab], snapshots_dir: Path, read_on: date | None = None) -> Snapshot:
    """Write the tabs, read on ``read_on`` (default today), to a content-hashed snapshot (or reuse
    the identical one already there)."""
    read_on = read_on or date.today()
    blobs = {name: _canonical(_tab_document(tab)) for name, tab in sorted(tabs.items())}
    tab_hashes = {name: hashlib.sha256(blob).hexdigest() for name, blob in blobs.items()}
    index = _canonical({"format": 2, "read_on": read_on.isoformat(), "tabs": tab_hashes})
    snapshot_id = hashlib.sha256(index).hexdigest()
    target = Path(snapshots_dir) / snapshot_id
    if target.is_dir():
        return load_snapshot(snapshot_id, snapshots_dir)  # verifies the hashes
    Path(snapshots_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=snapshots_dir))
    try:
        for name, blob in blobs.items():
            (tmp / f"{name}.json").write_bytes(blob)
        (tmp / "snapshot.json").write_bytes(index)
        for p in tmp.iterdir():
            os.chmod(p, 0o444)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # lost a race to an identical snapshot: fine
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Snapshot(snapshot_id, target, tab_hashes, dict(tabs), read_on)


def load_snapshot(snapshot_id: str, snapshots_dir: Path) -> Snapshot:
    """Read a snapshot back, checking every file against its hash."""
    snapshots_dir = Path(snapshots_dir)
    folder = snapshots_dir / snapshot_id
    if not folder.is_dir():
        matches = sorted(p for p in snapshots_dir.glob(f"{snapshot_id}*") if p.is_dir()) if snapshot_id else []
        if len(matches) != 1:
            raise SnapshotError(
                f"No snapshot {snapshot_id} under {snapshots_dir}. `coalition runs` lists the runs "
                f"and their snapshots."
            )
        folder = matches[0]
    index = (folder / "snapshot.json").read_bytes()
    if hashlib.sha256(index).hexdigest() != folder.name:
        raise SnapshotError(f"Snapshot {folder} was altered: its index no longer matches its id.")
    doc = json.loads(index)
    tab_hashes = doc["tabs"]
    read_on = date.fromisoformat(doc["read_on"]) if "read_on" in doc else None
    tabs = {}
    for name, expected in tab_hashes.items():
        blob = (folder / f"{name}.json").read_bytes()
        if hashlib.sha256(blob).hexdigest() != expected:
            raise SnapshotError(f"Snapshot {folder}: {name}.json was altered since it was taken.")
        doc = json.loads(blob)
        tabs[name] = RawTab(
            doc["tab"], doc["title"], doc["header"], [(n, cells) for n, cells in doc["rows"]], doc["present"]
        )
    return Snapshot(folder.name, folder, tab_hashes, tabs, read_on)
