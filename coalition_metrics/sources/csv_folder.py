"""A folder of CSV files, one per tab, named ``<tab title>.csv`` (UTF-8, header in row 1)."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from ..collector import no_gc
from ..errors import SourceError
from . import RawTab, column_letter, match_title, split_columns


class CsvFolderSource:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.description = f"CSV folder {self.folder}"

    def read_tabs(self, tab_titles: dict[str, str]) -> dict[str, RawTab]:
        tabs = {}
        for name, title in tab_titles.items():
            path = self._find(title)
            if path is None:
                tabs[name] = RawTab(name, title, present=False)
                continue
            try:
                with path.open(newline="", encoding="utf-8-sig") as fh:
                    text = fh.read()
            except UnicodeDecodeError:
                raise SourceError(
                    f"{path} is not UTF-8 text. Save it again as 'CSV UTF-8' and re-run."
                ) from None
            except OSError as exc:
                raise SourceError(
                    f"The tab file {path} could not be read: {exc.strerror or exc}. Make it a readable "
                    f"file (check its permissions), or remove it if the tab is optional, and run again."
                ) from None
            header, columns, sheet_rows, lengths = read_csv_columns(text, path, title)
            tabs[name] = RawTab(name, title, header, columns=columns, sheet_rows=sheet_rows, lengths=lengths)
        return tabs

    def _find(self, title: str) -> Path | None:
        files = {p.stem: p for p in sorted(self.folder.glob("*.csv"))}
        stem = match_title(list(files), title, f"CSV folder {self.folder}")
        if stem is not None and files[stem].is_dir():
            raise SourceError(
                f"{files[stem]} is a folder, but the tab '{title}' should be a CSV file of that name. Move the "
                f"folder away (or rename it) and put the tab's CSV file there, then run again."
            )
        return files[stem] if stem is not None else None


def read_csv_columns(text: str, path: Path, title: str):
    """(header, columns, sheet_rows, lengths) of a CSV file's text, as split_columns gives them
    from read_csv_text's rows. A file with no quote whose every line has the header's number of
    cells (what a spreadsheet exports, and most files) is split column-wise in a few C calls
    (uniform_columns); any other goes through the csv module and its checks."""
    fast = uniform_columns(text)
    if fast is not None:
        return fast
    with no_gc():
        return split_columns(read_csv_text(text, path, title))


def uniform_columns(text: str):
    """split_columns(read_csv_text(text)) for a file with no quote, no NUL, no line break but \n or
    \r\n, at least two columns and the same number of cells on every line; None for any other file
    (read it with the csv module). Without quotes a cell is the text between two commas, so the
    whole text is split once and each column is a slice of that list (no list per row)."""
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    if text.endswith("\n"):
        text = text[:-1]
    lines = text.split("\n")
    commas = lines[0].count(",")
    if len(lines) < 2 or commas < 1 or text.count(",") != commas * len(lines) \
            or any(line.count(",") != commas for line in lines):
        return None
    width = commas + 1
    rows = len(lines) - 1
    while rows and not lines[rows].replace(",", "").strip():  # trailing wholly blank rows: the sheet's empty grid
        rows -= 1
    cells = ",".join(lines[:rows + 1]).split(",")
    header = cells[:width]
    columns = [cells[width + j::width] for j in range(width)]
    return header, columns, list(range(2, 2 + rows)), None


def read_csv_text(text: str, path: Path, title: str) -> list[list[str]]:
    """The rows of a CSV file. A quote that is never closed would swallow every line after it into
    one cell (rows silently gone), and a quote closed many lines later swallows the rows between:
    both stop the run with the tab, row, line and column of the quote. A cell may be of any length
    (the csv module's default limit, 131,072 characters, stopped a run with a traceback on a long
    note; a file without quotes never had one)."""
    _no_field_limit()
    values = list(csv.reader(io.StringIO(text, newline="")))
    header = values[0] if values else []
    width = len(header)
    # A cell can hold a line break only inside quotes; look for one only then, and column-wise.
    broken = []
    if '"' in text and values:
        broken = [(i, j) for j in range(max(map(len, values)))
                  for i in _rows_with_breaks([r[j] if j < len(r) else "" for r in values])]
    if broken:
        starts = _record_starts(text)
        # Only the last record can end inside an open quote; ask the strict reader once.
        ends_open = any("\n" in c or "\r" in c for c in values[-1]) and _quote_unclosed(text)
        for i, j in sorted(broken):
            cell = values[i][j]
            lines = cell.splitlines()
            looks_like_rows = sum(1 for x in lines[1:] if width > 1 and x.count(",") >= width - 1) if i else 0
            unclosed = ends_open and i == len(values) - 1
            if not (unclosed or looks_like_rows):
                continue  # a cell with line breaks of its own (a long note): fine
            where = (f"Tab '{title}' ({path.name}), sheet row {i + 1} (line {starts[i]} of the file), column "
                     f"{column_letter(j)} ({header[j] if j < width else 'no header'})")
            if unclosed:
                raise SourceError(
                    f"{where}: a quote opens there and is never closed, so the {len(lines) - 1} lines after it "
                    f"would be read as one cell and their rows lost. Close the quote (or remove it) and save "
                    f"the file again."
                )
            raise SourceError(
                f"{where}: a quoted cell runs over {len(lines)} lines, {looks_like_rows} of which "
                f"{'looks like a row' if looks_like_rows == 1 else 'look like rows'} of this tab; a quote is probably missing or misplaced, and those rows would be lost in one "
                f"cell. Fix the quotes in that row and save the file again."
            )
    if len(set(map(len, values))) > 1:
        _check_widths(values, None, path, title, text)
    return values


def _no_field_limit() -> None:
    """Lift the csv module's per-cell limit (process-wide; the largest value this platform takes)."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def _rows_with_breaks(cells: list[str]) -> list[int]:
    """Positions of the cells holding a line break (one scan of the column's text first)."""
    joined = "\x00".join(cells)
    if "\n" not in joined and "\r" not in joined:
        return []
    return [i for i, c in enumerate(cells) if "\n" in c or "\r" in c]


def _record_starts(text: str) -> list[int]:
    """The file line each record starts on (for messages only: read again when one is needed)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, line = [], 1
    for _ in reader:
        starts.append(line)
        line = reader.line_num + 1
    return starts


def _check_widths(values: list[list[str]], starts: list[int] | None, path: Path, title: str, text: str = "") -> None:
    """A row with a value past the last header: a comma inside a value that is not quoted ('1,210',
    'Smith, Jones') splits it and shifts every cell after it one column right, so the row would be
    read with wrong values (1 for 1,210) and its last cell dropped. Empty cells past the header (a
    trailing comma) are fine."""
    width = len(values[0]) if values else 0
    wide = [(i, j) for i, record in enumerate(values[1:], start=1)
            for j in [next((k for k in range(width, len(record)) if record[k].strip()), None)] if j is not None]
    if not wide or not width:
        return
    i, j = wide[0]
    starts = starts or _record_starts(text)
    cell = values[i][j].strip()
    more = f" ({len(wide) - 1} more rows like it: sheet rows {', '.join(str(r + 1) for r, _ in wide[1:6])}" \
           f"{', ...' if len(wide) > 6 else ''})" if len(wide) > 1 else ""
    raise SourceError(
        f"Tab '{title}' ({path.name}), sheet row {i + 1} (line {starts[i]} of the file) has {len(values[i])} cells "
        f"but the header has {width}: column {column_letter(j)} holds '{cell[:40]}{'...' if len(cell) > 40 else ''}' "
        f"under no header.{more} A comma inside a value that is not in quotes (1,210 or Smith, Jones) splits it "
        f"and shifts the cells after it into the wrong columns. Put that value in double quotes (or remove the "
        f"comma), or give the column a header, and save the file again."
    )


def _quote_unclosed(text: str) -> bool:
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), strict=True):
            pass
    except csv.Error as err:
        return "unexpected end of data" in str(err)
    return False
