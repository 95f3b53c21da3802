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
Files are written once, made read-only, and checked against their hashes when read back. A
snapshot folder that fails that check (a file altered or deleted) is written again when the same
cells are read again; replaying it is an error that says so.
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

from .collector import no_gc
from .errors import SnapshotError, storage_error
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


def _tab_blob(tab: RawTab) -> bytes:
    """_canonical(_tab_document(tab)), byte for byte, written from the tab's columns: each column's
    cells are JSON-encoded in one pass (the encoder json.dumps uses), then joined row by row, so
    no list per row is built."""
    from json.encoder import encode_basestring

    def dumps(value) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    if tab.lengths is None and tab.columns and tab.sheet_rows:
        rows = _rows_interleaved(tab)
    else:
        encoded = [list(map(encode_basestring, col)) for col in tab.columns]
        if tab.lengths is None:
            cells = map(",".join, zip(*encoded)) if encoded else ("" for _ in tab.sheet_rows)
        else:
            cells = (",".join(row[:k]) for row, k in zip(zip(*encoded), tab.lengths))
        rows = ",".join([f"[{n},[{c}]]" for n, c in zip(tab.sheet_rows, cells)])
    text = (f'{{"header":{dumps(tab.header)},"present":{dumps(tab.present)},"rows":[{rows}],'
            f'"tab":{dumps(tab.name)},"title":{dumps(tab.title)}}}')
    return text.encode("utf-8")


def _rows_interleaved(tab: RawTab) -> str:
    """The ``[sheet_row,[cells]]`` rows of a tab whose rows all have every column, built column-wise.
    First as if no cell needed escaping (each cell as it is, between quotes written into the
    separators; the pieces of every row laid side by side in one list by slice assignments and
    joined once); that text is kept when it has exactly the quotes written into it and no
    backslash or control character. Otherwise a column none of whose cells needs escaping still
    goes in as it is and any other column is encoded cell by cell."""
    from json.encoder import encode_basestring

    width, n = len(tab.columns), len(tab.sheet_rows)
    text = _interleave(tab, [True] * width, encode_basestring)
    if text.count('"') == 2 * width * n and "\\" not in text and text.isprintable():
        return text
    return _interleave(tab, [_plain("".join(col)) for col in tab.columns], encode_basestring)


def _plain(text: str) -> bool:
    """True when JSON (ensure_ascii=False) writes ``text`` as it is between quotes: no quote, no
    backslash, no control character (isprintable is False for every control character, and for a
    few other characters too, which only sends such a column the slower way)."""
    return text.isprintable() and '"' not in text and "\\" not in text


def _interleave(tab: RawTab, plain: list[bool], encode) -> str:
    width, n = len(tab.columns), len(tab.sheet_rows)
    q = ['"' if p else "" for p in plain]
    stride = 2 * width + 1
    pieces: list = [None] * (stride * n)
    pieces[0::stride] = [f"[{r},[{q[0]}" for r in tab.sheet_rows]
    for j, col in enumerate(tab.columns):
        pieces[2 * j + 1::stride] = col if plain[j] else list(map(encode, col))
        if j + 1 < width:
            pieces[2 * j + 2::stride] = [f"{q[j]},{q[j + 1]}"] * n
    pieces[stride - 1::stride] = [f"{q[-1]}]],"] * n
    return "".join(pieces)[:-1]


def take_snapshot(tabs: dict[str, RawTab], snapshots_dir: Path, read_on: date | None = None) -> Snapshot:
    """Write the tabs, read on ``read_on`` (default today), to a content-hashed snapshot (or reuse
    the identical one already there)."""
    read_on = read_on or date.today()
    blobs = {name: _tab_blob(tab) for name, tab in sorted(tabs.items())}
    tab_hashes = {name: hashlib.sha256(blob).hexdigest() for name, blob in blobs.items()}
    index = _canonical({"format": 2, "read_on": read_on.isoformat(), "tabs": tab_hashes})
    snapshot_id = hashlib.sha256(index).hexdigest()
    target = Path(snapshots_dir) / snapshot_id
    if target.is_dir():
        if _intact(target, blobs, index):  # the same cells, already snapshotted: reuse the folder
            return Snapshot(snapshot_id, target, tab_hashes, dict(tabs), read_on)
        _set_aside(target)  # damaged: these cells are at hand, so the snapshot is taken again
    try:
        _write(target, blobs, index)
    except OSError as exc:
        raise storage_error(exc, f"Writing the snapshot to {snapshots_dir}") from None
    return Snapshot(snapshot_id, target, tab_hashes, dict(tabs), read_on)


def _intact(target: Path, blobs: dict[str, bytes], index: bytes) -> bool:
    """Whether the snapshot folder holds exactly these files (compared by hash, as load_snapshot
    checks them, without parsing them again)."""
    try:
        if hashlib.sha256((target / "snapshot.json").read_bytes()).digest() != hashlib.sha256(index).digest():
            return False
        return all(hashlib.sha256((target / f"{name}.json").read_bytes()).digest() == hashlib.sha256(blob).digest()
                   for name, blob in blobs.items())
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise storage_error(exc, f"Reading the snapshot {target}") from None


def _write(target: Path, blobs: dict[str, bytes], index: bytes) -> None:
    """Write the snapshot into a temporary folder and rename it into place (all or nothing)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
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


def _set_aside(folder: Path) -> None:
    """Move a damaged snapshot folder out of the way (renamed first, so no reader sees it half
    deleted), then delete it."""
    aside = Path(tempfile.mkdtemp(prefix=f".damaged-{folder.name[:12]}-", dir=folder.parent))
    try:
        os.rename(folder, aside / folder.name)
    except OSError as exc:
        shutil.rmtree(aside, ignore_errors=True)
        raise storage_error(exc, f"Setting aside the damaged snapshot {folder}") from None
    shutil.rmtree(aside, ignore_errors=True)


def load_snapshot(snapshot_id: str, snapshots_dir: Path, *, check_hashes: bool = True) -> Snapshot:
    """Read a snapshot back, checking every file against its hash.

    ``check_hashes=False`` reads the files as they are now, without those checks: only
    `coalition verify` does that, after comparing the hashes itself, so that it can name the
    metrics an altered file changes. Its ``tab_hashes`` are still the ones the index records."""
    snapshots_dir = Path(snapshots_dir)
    folder = snapshots_dir / snapshot_id
    if not folder.is_dir():
        raise SnapshotError(
            f"No snapshot {snapshot_id} under {snapshots_dir}. `coalition runs` lists the runs "
            f"and their snapshots."
        )
    try:
        index = (folder / "snapshot.json").read_bytes()
        if check_hashes and hashlib.sha256(index).hexdigest() != folder.name:
            raise _Damaged("its index snapshot.json no longer matches the snapshot id")
        doc = json.loads(index)
        tab_hashes = doc["tabs"]
        read_on = date.fromisoformat(doc["read_on"]) if "read_on" in doc else None
        tabs = {}
        for name, expected in tab_hashes.items():
            blob = (folder / f"{name}.json").read_bytes()
            if check_hashes and hashlib.sha256(blob).hexdigest() != expected:
                raise _Damaged(f"{name}.json was altered since it was taken")
            with no_gc():
                doc = json.loads(blob)
                tabs[name] = RawTab(doc["tab"], doc["title"], doc["header"], doc["rows"], doc["present"])
            del doc
    except FileNotFoundError as exc:
        raise _damaged(folder, f"{Path(exc.filename or '').name or 'a file'} is missing") from None
    except _Damaged as exc:
        raise _damaged(folder, str(exc)) from None
    except OSError as exc:
        raise storage_error(exc, f"Reading the snapshot {folder}") from None
    return Snapshot(folder.name, folder, tab_hashes, tabs, read_on)


class _Damaged(Exception):
    pass


def _damaged(folder: Path, what: str) -> SnapshotError:
    return SnapshotError(
        f"Snapshot {folder} is damaged: {what}. It cannot be replayed. Run again without "
        f"--from-snapshot to read the source (today's cells are snapshotted afresh), or restore the "
        f"snapshots folder from a backup."
    )
