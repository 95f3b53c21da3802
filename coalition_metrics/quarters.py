"""The one place for quarter arithmetic: calendar or fiscal quarters, labels, bounds.

Calendar quarters are labelled ``2026-Q3``. With ``fiscal_year_start_month`` other than 1 the
fiscal year is named by the calendar year it ends in, so with a July start, July-September 2026 is
``FY2027-Q1``.

>>> q = Quarter.of(date(2026, 8, 15))
>>> q.label, q.start, q.end
('2026-Q3', datetime.date(2026, 7, 1), datetime.date(2026, 9, 30))
>>> Quarter.of(date(2026, 8, 15), fiscal_year_start_month=7).label
'FY2027-Q1'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_LABEL = re.compile(r"^(FY)?(\d{4})-?Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Quarter:
    year: int  # calendar year, or the fiscal year (the year the fiscal year ends in)
    q: int  # 1..4
    fiscal_year_start_month: int = 1

    @classmethod
    def of(cls, d: date, fiscal_year_start_month: int = 1) -> "Quarter":
        fs = fiscal_year_start_month
        months_in = (d.month - fs) % 12
        q = months_in // 3 + 1
        fy = d.year if fs == 1 else (d.year + 1 if d.month >= fs else d.year)
        return cls(fy, q, fs)

    @classmethod
    def parse(cls, label: str, fiscal_year_start_month: int = 1) -> "Quarter":
        m = _LABEL.match(label.strip())
        if not m:
            example = "2026-Q3" if fiscal_year_start_month == 1 else "FY2027-Q1"
            raise ValueError(f"{label!r} is not a quarter; write it like {example}")
        fy_prefix, year, q = m.groups()
        if fiscal_year_start_month != 1 and not fy_prefix:
            raise ValueError(
                f"{label!r}: fiscal quarters are configured (year starts in month "
                f"{fiscal_year_start_month}); write it like FY{year}-Q{q}"
            )
        if fiscal_year_start_month == 1 and fy_prefix:
            raise ValueError(f"{label!r}: quarters are calendar quarters here; write it like {year}-Q{q}")
        return cls(int(year), int(q), fiscal_year_start_month)

    @property
    def label(self) -> str:
        if self.fiscal_year_start_month == 1:
            return f"{self.year}-Q{self.q}"
        return f"FY{self.year}-Q{self.q}"

    @property
    def start(self) -> date:
        fs = self.fiscal_year_start_month
        first_year = self.year if fs == 1 else self.year - 1
        month0 = (fs - 1) + (self.q - 1) * 3  # months since January of first_year
        return date(first_year + month0 // 12, month0 % 12 + 1, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> "Quarter":
        if self.q == 4:
            return Quarter(self.year + 1, 1, self.fiscal_year_start_month)
        return Quarter(self.year, self.q + 1, self.fiscal_year_start_month)

    def previous(self) -> "Quarter":
        if self.q == 1:
            return Quarter(self.year - 1, 4, self.fiscal_year_start_month)
        return Quarter(self.year, self.q - 1, self.fiscal_year_start_month)

    def __str__(self) -> str:
        return self.label


def last_completed(today: date, fiscal_year_start_month: int = 1) -> Quarter:
    """The default quarter of a run: the last quarter that has ended before ``today``."""
    return Quarter.of(today, fiscal_year_start_month).previous()


def quarters_between(first: Quarter, last: Quarter) -> list[Quarter]:
    """Every quarter from ``first`` to ``last``, both included."""
    out, q = [], first
    while q <= last:
        out.append(q)
        q = q.next()
    return out


def same_months(q: Quarter, fiscal_year_start_month: int) -> Quarter | None:
    """The quarter of a year starting in ``fiscal_year_start_month`` that covers exactly the months
    of ``q`` (2026-Q3 is FY2027-Q1 for a July year), or None when that year's quarters fall across
    q's (a year starting in February)."""
    other = Quarter.of(q.start, fiscal_year_start_month)
    return other if other.start == q.start else None
