"""Extract: every source returns the tabs' cells as text with their sheet row numbers.

No renaming or casting happens here; that is the job of validation and staging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import SourceError

_SHEET_URL = re.compile(r"https?://docs\.google\.com/spreadsheets/d/([A-Za-z0-9_-]+)")
_SHEET_KEY = re.compile(r"^[A-Za-z0-9_-]{25,}$")


@dataclass
class RawTab:
    """One tab as the source holds it: the header row and the data rows, all cells as text.

    ``rows`` holds ``(sheet_row, cells)`` pairs; the header is sheet row 1, so data starts at 2.
    ``present`` is False when the source has no tab of that name.
    """

    name: str  # the contract's tab name (members, meetings, ...)
    title: str  # the tab's title in the source
    header: list[str] = field(default_factory=list)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    present: bool = True


class Source(Protocol):
    description: str

    def read_tabs(self, tab_titles: dict[str, str]) -> dict[str, RawTab]:
        """Read every tab named in ``tab_titles`` (contract name -> title in the source)."""


def looks_like_google_sheet(location: str) -> bool:
    return bool(_SHEET_URL.search(location)) or (
        bool(_SHEET_KEY.match(location)) and not Path(location).exists()
    )


def sheet_key(location: str) -> str:
    m = _SHEET_URL.search(location)
    return m.group(1) if m else location


def open_source(location: str, settings) -> Source:
    """The source behind ``location``: a CSV folder, an .xlsx workbook or a Google Sheet."""
    if looks_like_google_sheet(location):
        from .sheets import GoogleSheetSource

        s = settings.data["source"]
        return GoogleSheetSource(
            sheet_key(location),
            credentials_file=settings.credentials_file,
            value_render=s["value_render"],
            retry_delays=s["retry_delays"],
            timeout=s["timeout_seconds"],
            reads_per_minute=s["sheets_reads_per_minute"],
        )
    path = Path(location)
    if path.is_dir():
        from .csv_folder import CsvFolderSource

        return CsvFolderSource(path)
    if path.suffix.lower() in (".xlsx", ".xlsm") and path.is_file():
        from .xlsx import XlsxSource

        return XlsxSource(path)
    if not path.exists():
        raise SourceError(
            f"Source {location} does not exist. Give a folder of CSV files, an .xlsx workbook or a "
            f"Google Sheets URL (set [source] location in the config or pass --source)."
        )
    raise SourceError(
        f"Source {location} is not a folder of CSVs, an .xlsx workbook or a Google Sheets URL."
    )


def match_title(available: list[str], wanted: str, where: str) -> str | None:
    """The one title in ``available`` that is ``wanted`` after trimming and case-folding, or None.
    Two matches ('Members' and 'members ') are an error: reading either would be a guess."""
    key = " ".join(wanted.strip().casefold().split())
    found = [t for t in available if " ".join(t.strip().casefold().split()) == key]
    if len(found) > 1:
        raise SourceError(
            f"{where} has {len(found)} tabs named like '{wanted}' ({', '.join(repr(f) for f in found)}); the run "
            f"cannot tell which one holds the data. Rename or delete the other one."
        )
    return found[0] if found else None


def a1_tab(title: str) -> str:
    """A tab title quoted for an A1 range: 'Tab''s name'."""
    return "'" + title.replace("'", "''") + "'"


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_text(value) -> str:
    """A cell value as text: integers without '.0', booleans as TRUE/FALSE, None as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value)


def split_rows(values: list[list], first_row: int = 1) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header + numbered data rows from a grid of cell values (row numbers as in the sheet)."""
    if not values:
        return [], []
    header = [cell_text(v) for v in values[0]]
    width = len(header)
    rows = []
    for i, raw in enumerate(values[1:], start=first_row + 1):
        cells = [cell_text(v) for v in raw]
        if len(cells) < width:
            cells += [""] * (width - len(cells))
        rows.append((i, cells))
    # Trailing wholly blank rows are the sheet's empty grid, not data.
    while rows and not any(c.strip() for c in rows[-1][1]):
        rows.pop()
    return header, rows
