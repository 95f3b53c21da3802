"""A folder of CSV files, one per tab, named ``<tab title>.csv`` (UTF-8, header in row 1)."""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import SourceError
from . import RawTab, split_rows


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
                    values = list(csv.reader(fh))
            except UnicodeDecodeError:
                raise SourceError(
                    f"{path} is not UTF-8 text. Save it again as 'CSV UTF-8' and re-run."
                ) from None
            header, rows = split_rows(values)
            tabs[name] = RawTab(name, title, header, rows)
        return tabs

    def _find(self, title: str) -> Path | None:
        exact = self.folder / f"{title}.csv"
        if exact.is_file():
            return exact
        wanted = title.strip().casefold()
        for p in sorted(self.folder.glob("*.csv")):
            if p.stem.strip().casefold() == wanted:
                return p
        return None
