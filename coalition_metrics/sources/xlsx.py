"""A local .xlsx workbook with the same tab names as the Google Sheet."""

from __future__ import annotations

from datetime import date, datetime, time
from itertools import zip_longest
from pathlib import Path

from ..errors import SourceError
from . import RawTab, cell_text, match_title, split_rows


def xlsx_cell_text(value) -> str:
    """Date cells become ISO text (with the time when it is not midnight); the rest as cell_text."""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds")
    return cell_text(value)


class XlsxSource:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.description = f"workbook {self.path}"

    def read_tabs(self, tab_titles: dict[str, str]) -> dict[str, RawTab]:
        import openpyxl

        try:
            wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
            # The same cells as written: a formula cell whose value was never calculated (a workbook
            # written by a script, or saved by a tool that does not calculate) reads as None above;
            # here it shows its formula, which is what the snapshot keeps for it.
            formulas = openpyxl.load_workbook(self.path, read_only=True, data_only=False)
        except Exception as exc:  # openpyxl raises several unrelated types for a bad file
            raise SourceError(f"Workbook {self.path} could not be opened ({exc}). Is it an .xlsx file?") from None
        try:
            tabs = {}
            for name, title in tab_titles.items():
                actual = match_title(wb.sheetnames, title, f"Workbook {self.path.name}")
                if actual is None:
                    tabs[name] = RawTab(name, title, present=False)
                    continue
                values = [
                    [xlsx_cell_text(_saved_value(cell, f)) for cell, f in zip_longest(row, written)]
                    for row, written in zip_longest(wb[actual].iter_rows(),
                                                    formulas[actual].iter_rows(values_only=True), fillvalue=())
                ]
                header, rows = split_rows(values)
                tabs[name] = RawTab(name, actual, header, rows)
            return tabs
        finally:
            wb.close()
            formulas.close()


def _saved_value(cell, written):
    """The cell's saved value; for a formula cell saved without its value, the formula text.

    A formula whose saved value is an empty string (``=IF(..., "", ...)`` in Excel) is saved with
    the string type and reads as blank; one that was never calculated has no saved value at all."""
    value = getattr(cell, "value", None)
    if value is not None or written is None:
        return value
    if getattr(cell, "data_type", None) in ("s", "str", "inlineStr"):
        return value  # a saved empty string: the cell shows nothing
    if isinstance(written, str) and written.startswith("="):
        return written
    text = getattr(written, "text", None)  # array and data-table formulas
    if isinstance(text, str):
        return text if text.startswith("=") else "=" + text
    return value
