"""The one place where cell text becomes a date or a timestamp.

Accepted forms (docs/data-contract.md):
- ISO ``2026-07-01`` (optionally with a time: ``2026-07-01 14:03:22`` or ``2026-07-01T14:03:22``);
- the sheet's own date cells read unformatted: serial day numbers counted from 1899-12-30
  (``46204`` or, for a timestamp, ``46204.5873``);
- the locale format set in config: ``M/D/YYYY`` (default, as a US sheet and the Forms
  ``Timestamp`` column write it) or ``D/M/YYYY``, optionally followed by a time ``H:MM[:SS]``.

>>> parse_date("7/1/2026")
datetime.date(2026, 7, 1)
>>> parse_date("1/7/2026", "D/M/YYYY")
datetime.date(2026, 7, 1)
>>> parse_date("46204")
datetime.date(2026, 7, 1)
>>> parse_timestamp("7/1/2026 14:03:22")
datetime.datetime(2026, 7, 1, 14, 3, 22)
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

SHEETS_EPOCH = datetime(1899, 12, 30)
LOCALE_FORMATS = ("M/D/YYYY", "D/M/YYYY")
# Serial numbers outside this range are not plausible dates (1927-01-01 .. 2173-10-14).
_SERIAL_MIN, _SERIAL_MAX = 10_000, 100_000

_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?:Z|[+-]00:?00)?$"
)
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SERIAL = re.compile(r"^\d+(?:\.\d+)?$")


class DateParseError(ValueError):
    """The text is not a date in any accepted form."""


def check_locale_format(fmt: str) -> str:
    if fmt not in LOCALE_FORMATS:
        raise ValueError(f"date format must be one of {', '.join(LOCALE_FORMATS)}, not {fmt!r}")
    return fmt


def parse_timestamp(text: str, locale_format: str = "M/D/YYYY") -> datetime:
    """Parse cell text into a datetime (midnight when the cell has no time)."""
    s = str(text).strip()
    if not s:
        raise DateParseError("blank")
    m = _ISO.match(s)
    if m:
        y, mo, d, hh, mm, ss = m.groups()
        return _build(int(y), int(mo), int(d), hh, mm, ss, s)
    m = _SLASHED.match(s)
    if m:
        a, b, y, hh, mm, ss = m.groups()
        mo, d = (a, b) if locale_format == "M/D/YYYY" else (b, a)
        return _build(int(y), int(mo), int(d), hh, mm, ss, s)
    if _SERIAL.match(s):
        serial = float(s)
        if _SERIAL_MIN <= serial <= _SERIAL_MAX:
            # Round to the second so 46204.5873 is stable across float noise.
            seconds = round(serial * 86400)
            return SHEETS_EPOCH + timedelta(seconds=seconds)
    raise DateParseError(f"{s!r} is not a date (expected YYYY-MM-DD or {locale_format})")


def parse_date(text: str, locale_format: str = "M/D/YYYY") -> date:
    """Parse cell text into a date; a time part, if any, is dropped."""
    return parse_timestamp(text, locale_format).date()


def try_parse_date(text: str | None, locale_format: str = "M/D/YYYY") -> date | None:
    """Like parse_date, but None for blank or unparseable text."""
    if text is None or not str(text).strip():
        return None
    try:
        return parse_date(text, locale_format)
    except DateParseError:
        return None


def try_parse_timestamp(text: str | None, locale_format: str = "M/D/YYYY") -> datetime | None:
    if text is None or not str(text).strip():
        return None
    try:
        return parse_timestamp(text, locale_format)
    except DateParseError:
        return None


def _build(y: int, mo: int, d: int, hh, mm, ss, original: str) -> datetime:
    try:
        return datetime(y, mo, d, int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError as exc:
        raise DateParseError(f"{original!r} is not a valid date ({exc})") from None
