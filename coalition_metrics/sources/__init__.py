"""Extract: every source returns the tabs' cells as text with their sheet row numbers.

No renaming or casting happens here; that is the job of validation and staging.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from ..errors import SourceError

_SHEET_URL = re.compile(r"https?://docs\.google\.com/spreadsheets/d/([A-Za-z0-9_-]+)")
_SHEET_KEY = re.compile(r"^[A-Za-z0-9_-]{25,}$")


class RawTab:
    """One tab as the source holds it: the header row and the data rows, all cells as text.

    The cells are held column-wise (``columns[j][i]``: column j of the i-th data row, ``sheet_rows[i]``
    its sheet row; the header is sheet row 1, so data starts at 2), not as one list per row: a tab
    of a million rows is a few lists, not a million. A source may give rows of different lengths
    (a row longer than the header, cells past the end of a short row): ``lengths[i]`` is the
    number of cells row i has (None when every row has ``len(columns)``), and the cells a row
    does not have read as "" in ``columns``. ``rows`` gives the ``(sheet_row, cells)`` pairs (built
    on demand). ``present`` is False when the source has no tab of that name.
    """

    __slots__ = ("name", "title", "header", "columns", "sheet_rows", "lengths", "present")

    def __init__(self, name: str, title: str, header: list[str] | None = None,
                 rows: list[tuple[int, list[str]]] | None = None, present: bool = True, *,
                 columns: list[list[str]] | None = None, sheet_rows: list[int] | None = None,
                 lengths: list[int] | None = None):
        self.name = name  # the contract's tab name (members, meetings, ...)
        self.title = title  # the tab's title in the source
        self.header = list(header or [])
        self.present = present
        if columns is None:
            columns, sheet_rows, lengths = _columns_of(rows or [])
        self.columns = columns
        self.sheet_rows = list(sheet_rows or [])
        self.lengths = lengths

    @property
    def rows(self) -> list[tuple[int, list[str]]]:
        if not self.columns:
            return [(n, []) for n in self.sheet_rows]
        cells = [list(r) for r in zip(*self.columns)]
        if self.lengths is not None:
            cells = [c[:k] for c, k in zip(cells, self.lengths)]
        return list(zip(self.sheet_rows, cells))

    def column(self, index: int | None) -> list[str]:
        """The cells of column ``index`` (0-based), "" where a row has no such cell."""
        if index is None or index >= len(self.columns):
            return [""] * len(self.sheet_rows)
        return self.columns[index]

    def __eq__(self, other) -> bool:
        return isinstance(other, RawTab) and (self.name, self.title, self.header, self.present, self.rows) == (
            other.name, other.title, other.header, other.present, other.rows)

    def __repr__(self) -> str:
        return f"RawTab({self.name!r}, {self.title!r}, {len(self.sheet_rows)} rows, present={self.present})"


def _columns_of(rows) -> tuple[list[list[str]], list[int], list[int] | None]:
    """(sheet_row, cells) pairs -> columns, sheet rows, row lengths (None when all are equal)."""
    sheet_rows = [n for n, _ in rows]
    lengths = [len(c) for _, c in rows]
    width = max(lengths, default=0)
    columns: list[list[str]] = [[] for _ in range(width)]
    for _, cells in rows:
        for j, v in enumerate(cells):
            columns[j].append(v)
        for j in range(len(cells), width):
            columns[j].append("")
    return columns, sheet_rows, (None if all(k == width for k in lengths) else lengths)


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


def split_columns(values: list[list], first_row: int = 1):
    """split_rows, column-wise: (header, columns, sheet_rows, lengths) for RawTab. ``values`` rows
    must already be text (a CSV file's); short rows are padded to the header's width and trailing
    wholly blank rows dropped, as split_rows does."""
    if not values:
        return [], [], [], None
    header = list(values[0])
    width = len(header)
    data = values[1:]
    while data and not any(c.strip() for c in data[-1]):
        data.pop()
    sizes = set(map(len, data))
    full = max(sizes | {width})
    if sizes - {full}:
        data = [r if len(r) == full else list(r) + [""] * (full - len(r)) for r in data]
    lengths = None
    if full > width and len(sizes) > 1:
        lengths = [max(len(r), width) for r in values[1:1 + len(data)]]
    columns = [list(c) for c in zip(*data)] if data else [[] for _ in range(full)]
    return header, columns, list(range(first_row + 1, first_row + 1 + len(data))), lengths


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
