"""Write-back: a published run's funder table replaces a tab of the Google Sheet it read from.

Its own step after publish: the run folder is complete before anything is written to the sheet,
so a sheet shared as Viewer only, or a Sheets outage, leaves the run published; the runs table
records the write-back's outcome (written / failed / off) and the CLI exits 3.

What is written (``[write_back] tab``, default "Funder metrics", created if missing): a header
block (coalition, quarter, as of, run id, published time, rows set aside), a blank row, then the
table of funder_metrics.csv (same columns, same values). Numbers are number cells, true/false are
boolean cells (TRUE/FALSE), empty values are empty cells, and text is always a string cell
(``stringValue``): a label or coalition name starting with "=" arrives as text, never a formula.

Requests: one metadata read (the tab list), then ONE spreadsheets.batchUpdate that adds the tab
(or resizes it to the table and clears it) and writes every cell: atomic, so the tab is never
left half-written, and no row of a longer earlier table survives.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import CoalitionError, SourceError, WriteBackError
from .funder import FUNDER_COLUMNS

log = logging.getLogger(__name__)

WRITTEN, FAILED, OFF = "written", "failed", "off"


@dataclass
class WriteBackOutcome:
    status: str  # written | failed | off | "" (the source is not a Google Sheet)
    message: str = ""
    tab: str = ""


# ----------------------------------------------------------------------------------------------
def sheet_rows(doc: dict[str, Any], manifest: dict[str, Any], run_id: str) -> list[list[Any]]:
    """The tab's rows: header block, a blank row, then the funder table (values as in the JSON)."""
    columns = list(doc.get("columns") or FUNDER_COLUMNS)
    rows: list[list[Any]] = [
        ["Coalition", doc["coalition"]],
        ["Quarter", doc["quarter"]],
        ["As of", manifest.get("as_of")],
        ["Run id", run_id],
        ["Published", manifest.get("finished_at")],
        ["Rows set aside", (doc.get("completeness") or {}).get("rows_set_aside")],
        [],
        columns,
    ]
    rows += [[r.get(c) for c in columns] for r in doc["metrics"]]
    return rows


SHEETS_CELL_LIMIT = 50_000  # characters a Google Sheets cell holds; a longer one fails the whole batchUpdate


def check_cell_sizes(rows: list[list[Any]]) -> None:
    """Every text cell within the Sheets limit, checked before any request: a longer one (a goal
    statement of the sheet's full 50,000 characters gets "Goal progress: " in front of it in its label)
    would fail the batchUpdate with an HTTP 400 naming no cell."""
    header_at = next((i for i, r in enumerate(rows) if r and r[0] == FUNDER_COLUMNS[0]), None)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if isinstance(value, str) and len(value) > SHEETS_CELL_LIMIT:
                column = rows[header_at][j] if header_at is not None and i > header_at else row[0]
                raise SourceError(
                    f"Row {i + 1} of the funder table (column {column!r}, starting {value[:60]!r}) holds "
                    f"{len(value):,} characters; a Google Sheets cell takes at most {SHEETS_CELL_LIMIT:,}. Shorten "
                    f"the text it shows (a goal statement in the goals tab, a survey question in [survey_items], "
                    f"or the [coalition] name).")


def cell_data(value: Any, bold: bool = False) -> dict[str, Any]:
    """A CellData: raw typed values only (stringValue for all text, so '=...' stays text)."""
    cell: dict[str, Any] = {}
    if isinstance(value, bool):
        cell["userEnteredValue"] = {"boolValue": value}
    elif isinstance(value, (int, float)):
        cell["userEnteredValue"] = {"numberValue": value}
    elif value is not None:
        cell["userEnteredValue"] = {"stringValue": str(value)}
    if bold:
        cell["userEnteredFormat"] = {"textFormat": {"bold": True}}
    return cell


def batch_requests(rows: list[list[Any]], tab: str, existing: dict | None, taken_ids: set[int]) -> list[dict]:
    """The requests of the one batchUpdate: add the tab (or resize and clear it), then write it."""
    n_rows, n_cols = max(len(rows), 1), max(len(r) for r in rows)
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == FUNDER_COLUMNS[0])
    requests: list[dict] = []
    grid = {"rowCount": n_rows, "columnCount": n_cols, "frozenRowCount": 0, "frozenColumnCount": 0}
    if existing is None:
        sheet_id = zlib.crc32(tab.encode("utf-8")) & 0x7FFFFFFF
        while sheet_id in taken_ids or sheet_id == 0:
            sheet_id = (sheet_id + 1) & 0x7FFFFFFF
        requests.append({"addSheet": {"properties": {"sheetId": sheet_id, "title": tab, "gridProperties": grid}}})
    else:
        sheet_id = existing["sheetId"]
        requests.append({"updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": grid},
            "fields": "gridProperties.rowCount,gridProperties.columnCount,gridProperties.frozenRowCount,"
                      "gridProperties.frozenColumnCount"}})
        requests.append({"updateCells": {"range": {"sheetId": sheet_id}, "fields": "*"}})  # clear it all
    data = [{"values": [cell_data(v, bold=(i == header_at or (i < header_at and j == 0))) for j, v in enumerate(r)]}
            for i, r in enumerate(rows)]
    requests.append({"updateCells": {"start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
                                     "rows": data, "fields": "userEnteredValue,userEnteredFormat.textFormat.bold"}})
    return requests


def write_table(key: str, settings, rows: list[list[Any]]) -> str:
    """Replace the [write_back] tab of spreadsheet ``key`` with ``rows``: one metadata read, one
    batchUpdate. Raises SourceError with what to do (share as Editor, try later)."""
    import google.auth.exceptions
    from gspread.exceptions import APIError

    from .sources.sheets import READWRITE_SCOPES, RETRY_STATUS, GoogleSheetSource

    s = settings.data["source"]
    tab = settings.data["write_back"]["tab"]
    src = GoogleSheetSource(key, settings.credentials_file, retry_delays=s["retry_delays"], timeout=s["timeout_seconds"],
                            reads_per_minute=s["sheets_reads_per_minute"])
    gc, email = src.client(scopes=READWRITE_SCOPES)
    http = gc.http_client
    try:
        meta = http.fetch_sheet_metadata(key, params={"includeGridData": "false",
                                                      "fields": "sheets.properties"})
        sheets = [sh["properties"] for sh in meta.get("sheets", [])]
        existing = next((p for p in sheets if p["title"].strip().casefold() == tab.strip().casefold()), None)
        if existing is not None and existing.get("sheetType", "GRID") != "GRID":
            raise SourceError(f"The tab '{existing['title']}' of spreadsheet {key} is not a grid of cells (it holds a "
                              f"chart); rename it, or set [write_back] tab to another title.")
        http.batch_update(key, {"requests": batch_requests(rows, existing["title"] if existing else tab, existing,
                                                           {p["sheetId"] for p in sheets})})
        return existing["title"] if existing else tab
    except APIError as err:
        code = err.response.status_code
        if code == 403:
            raise SourceError(
                f"Google Sheets refused the write (HTTP 403, permission denied): the service account {email} may "
                f"only view spreadsheet {key}. Open the sheet, click Share, and give {email} the Editor role "
                f"(Viewer is enough only with [write_back] enabled = false)."
            ) from None
        if code == 404:
            raise SourceError(f"No spreadsheet with key {key} exists (HTTP 404); check [source] location.") from None
        tried = f" after {len(src.retry_delays) + 1} attempts" if code in RETRY_STATUS else ""
        raise SourceError(f"Google Sheets answered HTTP {code}{tried} while writing the '{tab}' tab: "
                          f"{err.error.get('message', '')}.") from None
    except google.auth.exceptions.GoogleAuthError as err:
        raise SourceError(f"Google did not accept the service account {email} ({type(err).__name__}); the key may "
                          f"have been deleted or disabled: create a new JSON key.") from None


# ----------------------------------------------------------------------------------------------
def write_back_folder(folder: Path, run_id: str, key: str, settings) -> str:
    """Write a published run folder's funder table (funder_metrics.json and manifest.json, not a
    recomputation) to the sheet; the tab title written."""
    doc = json.loads((folder / "funder_metrics.json").read_text(encoding="utf-8"))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    rows = sheet_rows(doc, manifest, run_id)
    check_cell_sizes(rows)
    return write_table(key, settings, rows)


def after_publish(plan, result, enabled: bool = True) -> WriteBackOutcome:
    """The write-back step of a run or refresh, after publish. Records its outcome on the run's row
    of the runs table; raises WriteBackError (exit 3, carrying the result) when it failed."""
    from .sources import looks_like_google_sheet, sheet_key

    settings = plan.settings
    if not looks_like_google_sheet(settings.source_location):
        return WriteBackOutcome("")
    if not enabled or not settings.data["write_back"]["enabled"]:
        why = "--no-write-back" if not enabled else "[write_back] enabled = false"
        outcome = WriteBackOutcome(OFF, f"not written ({why})")
        record_write_back(plan, outcome)
        return outcome
    key = sheet_key(settings.source_location)
    try:
        tab = write_back_folder(result.folder, result.run_id, key, settings)
    except (SourceError, OSError, ValueError, KeyError) as exc:
        reason = str(exc) if isinstance(exc, CoalitionError) else f"its files could not be read ({exc})"
        message = (f"Run {result.run_id} is published ({result.folder}), but its funder table could not be written "
                   f"to the Google Sheet: {reason} Then write it with `coalition publish-sheet {result.run_id}`.")
        record_write_back(plan, WriteBackOutcome(FAILED, message))
        raise WriteBackError(message, result) from None
    outcome = WriteBackOutcome(WRITTEN, f"written to tab '{tab}' of {key}", tab)
    record_write_back(plan, outcome)
    return outcome


def record_write_back(plan, outcome: WriteBackOutcome) -> None:
    """The write-back's outcome on the run's row of the runs table."""
    from .runlock import open_db, run_lock

    with run_lock(plan), open_db(plan) as con:
        con.execute("update runs set write_back = ?, write_back_at = ?, write_back_message = ? where run_id = ?",
                    [outcome.status, datetime.now(timezone.utc).replace(tzinfo=None), outcome.message[:2000],
                     plan.run_id])


def publish_sheet(run_id: str, settings, out: str | Path | None = None) -> WriteBackOutcome:
    """`coalition publish-sheet RUN_ID`: write an earlier published run's funder table to the sheet
    it read (from its run folder), and record the outcome on that run's row."""
    from datetime import date

    from .plan import QUARTERLY_FLOW, RunPlan
    from .quarters import Quarter
    from .runs import REF_SHAPE, published_run_folder
    from .sources import looks_like_google_sheet, sheet_key

    run_id = (run_id or "").strip()
    if not REF_SHAPE.fullmatch(run_id):
        raise CoalitionError(f"publish-sheet takes a run id as `coalition runs` lists it (letters, digits and '-'), "
                             f"not {run_id!r}.")
    out_dir = Path(out).resolve() if out else settings.output_folder.resolve()
    folder = published_run_folder(out_dir, run_id)
    if folder is None:
        raise CoalitionError(f"No published run {run_id} under {out_dir}: pass a run id from `coalition runs` whose "
                             f"status is succeeded (and the same --out).")
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        source = manifest["source"]
        quarter = Quarter.parse(manifest["quarter"], settings.fiscal_year_start_month)
        as_of = date.fromisoformat(manifest["as_of"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CoalitionError(f"The manifest of run {run_id} ({folder / 'manifest.json'}) could not be read "
                             f"({type(exc).__name__}); the run folder may be damaged.") from None
    if not looks_like_google_sheet(source):
        raise CoalitionError(f"Run {run_id} read its data from {source}, not a Google Sheet; publish-sheet writes a "
                             f"run's funder table back to the sheet it read.")
    plan = RunPlan(settings, run_id, quarter, as_of, out_dir, flow=manifest.get("flow") or QUARTERLY_FLOW)
    key = sheet_key(source)
    try:
        tab = write_back_folder(folder, run_id, key, settings)
    except (SourceError, OSError, ValueError, KeyError) as exc:
        reason = str(exc) if isinstance(exc, CoalitionError) else f"its files could not be read ({exc})"
        message = f"The funder table of run {run_id} could not be written to the Google Sheet: {reason}"
        record_write_back(plan, WriteBackOutcome(FAILED, message))
        raise WriteBackError(message) from None
    outcome = WriteBackOutcome(WRITTEN, f"written to tab '{tab}' of {key}", tab)
    record_write_back(plan, outcome)
    return outcome
