"""A local .xlsx workbook with the same tab names as the Google Sheet."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

from ..errors import SourceError
from . import RawTab, cell_text, split_rows


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
        except Exception as exc:  # openpyxl raises several unrelated types for a bad file
            raise SourceError(f"Workbook {self.path} could not be opened ({exc}). Is it an .xlsx file?") from None
        try:
            by_fold = {ws.strip().casefold(): ws for ws in wb.sheetnames}
            tabs = {}
            for name, title in tab_titles.items():
                actual = by_fold.get(title.strip().casefold())
                if actual is None:
                    tabs[name] = RawTab(name, title, present=False)
                    continue
                ws = wb[actual]
                values = [[xlsx_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
                header, rows = split_rows(values)
                tabs[name] = RawTab(name, actual, header, rows)
            return tabs
        finally:
            wb.close()
