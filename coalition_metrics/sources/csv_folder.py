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
            except OSError as exc:
                raise SourceError(
                    f"The tab file {path} could not be read: {exc.strerror or exc}. Make it a readable "
                    f"file (check its permissions), or remove it if the tab is optional, and run again."
                ) from None
            header, rows = split_rows(values)
            tabs[name] = RawTab(name, title, header, rows)
        return tabs

    def _find(self, title: str) -> Path | None:
        exact = self.folder / f"{title}.csv"
        candidates = [exact] if exact.exists() else []
        wanted = title.strip().casefold()
        candidates += [p for p in sorted(self.folder.glob("*.csv")) if p.stem.strip().casefold() == wanted]
        for p in candidates:
            if p.is_dir():
                raise SourceError(
                    f"{p} is a folder, but the tab '{title}' should be a CSV file of that name. Move the "
                    f"folder away (or rename it) and put the tab's CSV file there, then run again."
                )
        return candidates[0] if candidates else None
