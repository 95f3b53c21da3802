"""The one place where cell text becomes a number, a Likert score or a boolean.

Dates live in dates.py. Validation uses these functions to decide what to quarantine, and the
staging SQL calls the same functions (registered as DuckDB functions), so a rule is written once.

>>> parse_likert("Strongly agree"), parse_likert(" 4 "), parse_likert("very dissatisfied")
(5.0, 4.0, 1.0)
>>> parse_bool("x"), parse_bool("No")
(True, False)
"""

from __future__ import annotations

import math
import re
import unicodedata

LIKERT_LABELS = {
    "strongly disagree": 1, "disagree": 2, "neither agree nor disagree": 3, "neutral": 3,
    "agree": 4, "strongly agree": 5,
    "very dissatisfied": 1, "dissatisfied": 2, "neither satisfied nor dissatisfied": 3,
    "satisfied": 4, "very satisfied": 5,
}
_TRUE = {"true", "yes", "y", "x", "1"}
_FALSE = {"false", "no", "n", "0"}
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?%?$")
# What str.strip() trims from a cell: every character str.isspace() accepts (tab, line break, no-break
# and ideographic spaces, ...). Identifiers and text are "trimmed" by this one rule in validation
# (Python's strip) and in the staging SQL (the cm_trim macro, transform.register_functions), so an id
# typed as "M03<tab>" is M03 in both: checked as M03, and counted as M03's attendance.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# Characters that show nothing (zero-width space, byte-order mark, soft hyphen, ...): a header or a
# label pasted from a web page or a second file keeps them, and they must not make it unreadable.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


def blank(text) -> bool:
    return text is None or not str(text).strip()


def parse_number(text) -> float | None:
    """'1,234.5' -> 1234.5; '12%' -> 12.0 (the unit column says what it means); None if not a number."""
    if blank(text):
        return None
    s = str(text).strip()
    if not _NUMBER.match(s) or not any(ch.isdigit() for ch in s):
        return None
    value = float(s.rstrip("%").replace(",", ""))
    return value if math.isfinite(value) else None


def parse_likert(text) -> float | None:
    """A number, or one of the usual agreement / satisfaction labels (any case); None otherwise."""
    if blank(text):
        return None
    label = " ".join(str(text).strip().casefold().split())
    if label in LIKERT_LABELS:
        return float(LIKERT_LABELS[label])
    # Forms sometimes writes "5 - Strongly agree".
    m = re.match(r"^(\d+)\s*[-–:.]\s*(.+)$", label)
    if m and m.group(2) in LIKERT_LABELS:
        return float(m.group(1))
    return parse_number(label)


def parse_answer(text, scale_min: int = 1, scale_max: int = 5, labels: tuple[str, ...] | list[str] = ()) -> float | None:
    """An answer to a survey item on its raw scale: the number, one of the item's own labels (any
    case; the first is scale_min), a generic agreement / satisfaction label when the item is on 1-5
    (such a label is a point of 1-5, not of another scale), or "5 - <label>". None when it is none
    of these; whether the number lies on the scale is validation's check, not this one's.

    >>> parse_answer("Often", 1, 4, ("Never", "Sometimes", "Often", "Always")), parse_answer("Agree", 1, 7)
    (3.0, None)
    """
    if blank(text):
        return None
    label = " ".join(_INVISIBLE.sub("", str(text)).strip().casefold().split())
    own = {norm_key(x): scale_min + i for i, x in enumerate(labels)}
    if label in own:
        return float(own[label])
    if label in LIKERT_LABELS:
        return float(LIKERT_LABELS[label]) if (scale_min, scale_max) == (1, 5) else None
    m = re.match(r"^(\d+)\s*[-–:.]\s*(.+)$", label)
    if m and (m.group(2) in LIKERT_LABELS or m.group(2) in own):
        return float(m.group(1))
    return parse_number(label)


def is_likert_label(text) -> bool:
    """A bare label ('Agree', 'Very satisfied'): a point of the 1-5 scale, so a valid answer only on
    an item scored 1-5 ('5 - Strongly agree' carries its number and is read on any scale)."""
    return not blank(text) and " ".join(str(text).strip().casefold().split()) in LIKERT_LABELS


def parse_bool(text) -> bool | None:
    if blank(text):
        return None
    s = str(text).strip().casefold()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


# Grid attendance cells (docs/data-contract.md: P/A/E, TRUE/FALSE, x or blank; yes/no as for any boolean).
ATTENDANCE_MARKS = {
    "p": "present", "present": "present", "a": "absent", "absent": "absent", "e": "excused", "excused": "excused",
    "\u2713": "present", "\u2714": "present",
}


def enum_value(text) -> str | None:
    """Enumerated values match after trimming and case-folding; 'Weekly call' == 'weekly_call'."""
    if blank(text):
        return None
    return norm_key(text).replace(" ", "_").replace("-", "_")


def attendance_mark(text) -> str | None:
    """A grid attendance cell as present/absent/excused: P/A/E, the words, a boolean (x = present)."""
    if blank(text):
        return None
    key = norm_key(text)
    if key in ATTENDANCE_MARKS:
        return ATTENDANCE_MARKS[key]
    flag = parse_bool(key)
    return None if flag is None else ("present" if flag else "absent")


def strip_invisible(text: str) -> str:
    """The text without the characters that show nothing (zero-width space, byte-order mark, ...)."""
    return _INVISIBLE.sub("", text)


def norm_key(text) -> str:
    """Header names and enumerated values are matched, and ids compared for repeats, after trimming
    and case-folding, dropping characters that show nothing, and reading each character in its
    Unicode compatibility form (NFKC): a full-width "Ｐｒｅｓｅｎｔ" or "Ｍ03" typed with an Asian
    input method, and an "é" stored as "e" plus a combining accent (text pasted from a PDF or a Mac
    file name), read as the plain letters they show."""
    return " ".join(unicodedata.normalize("NFKC", strip_invisible(str(text))).casefold().split())
