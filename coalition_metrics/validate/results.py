"""What validation found: each quarantined cell, each tab's row accounting, the whole result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class QuarantinedCell:
    tab: str
    sheet_row: int
    column: str
    value: str
    expectation: str
    reason: str
    fix: str = ""
    scope: str = "row"  # "row": the whole sheet row is set aside; "cell": one grid cell only
    rule: str = ""  # the suite's reason with its placeholders, to group entries by what failed
    # "fix": a row to correct. "info": set aside by a rule, nothing to correct (an earlier survey
    # submission superseded by a later one); it does not make `coalition validate` exit 1.
    severity: str = "fix"
    # "meetings row 4" when the row is set aside only because it refers to a row set aside there:
    # one thing to fix, listed under that row.
    caused_by: str = ""

    @property
    def to_fix(self) -> bool:
        """A row a person must correct (not information, not a consequence of another row)."""
        return self.severity == "fix" and not self.caused_by

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class TabResult:
    tab: str
    title: str
    present: bool
    rows_read: int = 0  # data rows in the sheet, blank ones included
    blank_rows: list[int] = field(default_factory=list)  # sheet rows of the wholly blank rows
    accepted_rows: list[int] = field(default_factory=list)  # sheet rows kept
    quarantined: list[QuarantinedCell] = field(default_factory=list)
    column_map: dict[str, int] = field(default_factory=dict)  # contract column -> header index
    form: str = "long"  # attendance may be "grid"
    checked_rows: list[int] = field(default_factory=list)  # non-blank sheet rows
    records: Any = None  # pandas DataFrame of every checked record (quarantined ones included)
    checks: list[dict] = field(default_factory=list)  # each expectation run: type, column, rule, failing records
    accepted: Any = None  # pandas DataFrame of accepted records (contract columns + derived)

    @property
    def rows_blank(self) -> int:
        return len(self.blank_rows)

    @property
    def rows_quarantined(self) -> int:
        return len({q.sheet_row for q in self.quarantined})

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted_rows)

    @property
    def cells_quarantined(self) -> int:
        return sum(1 for q in self.quarantined if q.scope == "cell")


@dataclass
class ValidationResult:
    tabs: dict[str, TabResult]
    validated_on: date | None = None  # the day "not in the future" was checked against
    # made ahead of Great Expectations' answer (validate.ahead.Ahead), until it is checked
    ahead: Any = field(default=None, repr=False, compare=False)

    @property
    def quarantined(self) -> list[QuarantinedCell]:
        return [q for t in self.tabs.values() for q in t.quarantined]

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            name: {
                "rows_read": t.rows_read,
                "rows_blank": t.rows_blank,
                "rows_accepted": t.rows_accepted,
                "rows_quarantined": t.rows_quarantined,
                **({"cells_quarantined": t.cells_quarantined} if t.form == "grid" else {}),
            }
            for name, t in self.tabs.items()
        }
