"""Header matching and the checked frame of a long-form tab: one record per non-blank sheet row,
contract columns as trimmed text plus the derived ``__value`` / ``__invalid`` / ``__when``
columns, formula errors and repeated keys (see the package docstring)."""

from __future__ import annotations

import difflib
import re
from typing import Any

from .. import dates, parsing
from ..config import DEFAULTS
from ..contract import REQUIRED_TABS, UNIQUE_KEYS, Column, columns_of, header_setting, headers_of
from ..sources import RawTab, column_letter
from .results import TabResult

DEFAULT_RESPONDENT_COLUMN = DEFAULTS["survey"]["respondent_column"]

# What a cell shows when its formula fails (Google Sheets and Excel), case-folded.
FORMULA_ERRORS = frozenset(
    {"#ref!", "#n/a", "#value!", "#div/0!", "#name?", "#num!", "#null!", "#error!", "#spill!", "#calc!",
     "#getting_data", "loading..."}
)


def is_uncalculated_formula(text: str) -> bool:
    """A cell that holds a formula but no value (an .xlsx saved without calculating it keeps only
    the formula, which the source reads as its text): it must not read as a blank or a typed value."""
    return len(text) > 1 and text.startswith("=")


def prepare_tab(raw: RawTab, settings):
    """Match headers, count blank rows, build the frame with derived columns (no GX yet)."""
    import numpy as np
    import pandas as pd

    name, title = raw.name, raw.title
    result = TabResult(name, title, raw.present)
    problems: list[str] = []
    if not raw.present:
        if name in REQUIRED_TABS:
            problems.append(
                f"Tab '{title}' is missing. Add a tab named '{title}' (or set [tabs] {name} in the "
                f"config to the tab's actual name)."
            )
        elif parsing.norm_key(settings.tabs[name]) != parsing.norm_key(name):
            # An optional tab may be absent, but not one the config names: that is a typo.
            problems.append(
                f"Tab '{title}' is missing, and [tabs] {name} names it: the source has no tab of that name. "
                f"Fix the setting to the tab's title in the sheet (or remove it if there is no {name} tab)."
            )
        return result, None, problems
    result.rows_read = len(raw.sheet_rows)
    if not any(h.strip() for h in raw.header):
        problems.append(
            f"Tab '{title}' is empty: it has no header row. Put the column names in row 1 "
            f"({', '.join(headers_of(name, settings).values())})."
        )
        return result, None, problems

    columns = columns_of(name, settings)
    expected = headers_of(name, settings)
    found: dict[str, int] = {}
    for i, h in enumerate(raw.header):
        found.setdefault(parsing.norm_key(h), i)
    from .grid import is_grid, prepare_grid  # grid.py builds on this module's helpers

    if name == "attendance":
        # 'Member ID' names the member column of a grid as well as 'member_id' does
        grid_found = {**{_loose(k): v for k, v in reversed(list(found.items()))}, **found}
        if is_grid(grid_found, expected):
            return prepare_grid(raw, result, grid_found, settings)
    mapped = settings.columns.get(name, {}) if name != "survey" else {}
    # 'Left on', 'left-on' and 'LEFT_ON' are all left_on: spaces, hyphens and underscores are one.
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(raw.header):
        if h.strip():
            positions.setdefault(_loose(h), []).append(i)
    for col in columns:
        key = parsing.norm_key(expected[col.name])
        at = positions.get(_loose(expected[col.name]), [])
        idx = at[0] if at else None
        if len(at) > 1:
            letters = " and ".join(column_letter(i) for i in at)
            problems.append(
                f"Tab '{title}' has {len(at)} columns headed '{expected[col.name]}' ({letters}); only "
                f"one can be read as {col.name}. Delete the copy or rename it (the checks would otherwise read "
                f"column {column_letter(at[0])} and ignore the rest)."
            )
        if idx is not None:
            result.column_map[col.name] = idx
        elif col.name in mapped:
            problems.append(
                f"Tab '{title}' has no column '{expected[col.name]}', the header that {header_setting(name, col.name, settings)} "
                f"names (header row 1). Fix the setting to the header the tab uses, or remove it to read the "
                f"column '{col.name}'."
            )
        elif col.required:
            close = difflib.get_close_matches(key, [parsing.norm_key(h) for h in raw.header if h.strip()], n=1, cutoff=0.6)
            hint = f" The tab has a column '{_original(raw.header, close[0])}': rename it to '{expected[col.name]}'." if close else ""
            what = "question" if name == "survey" and col.kind == "likert" else "required column"
            if name == "survey":
                how = f"set {header_setting(name, col.name, settings)} to the header the sheet uses"
            else:
                mine = _original(raw.header, close[0]) if close else "its header in your sheet"
                how = f"map it in the config: [columns] {name} = {{ {col.name} = \"{mine}\" }}"
            problems.append(f"Tab '{title}' has no {what} '{expected[col.name]}' (header row 1).{hint} "
                            f"Add the column, or {how}.")
    if name != "survey":
        problems += _unread_look_alikes(raw, columns, expected, result.column_map, settings)
    if name == "survey" and "respondent" not in result.column_map and settings.survey["respondent_column"] \
            and parsing.norm_key(settings.survey["respondent_column"]) != parsing.norm_key(DEFAULT_RESPONDENT_COLUMN):
        # No respondent column makes a survey anonymous, but a respondent column the config names
        # and the sheet lacks is a typo, not a choice.
        problems.append(
            f"Tab '{title}' has no column '{settings.survey['respondent_column']}', the respondent column that "
            f"[survey] respondent_column names (header row 1). Fix the setting to the header of the column "
            f"that says who answered, or set it to \"\" if the survey is anonymous."
        )
    if name == "survey":
        # A mapped question missing from the sheet is blocking (docs/data-contract.md).
        for col in columns:
            if col.kind == "likert" and col.name not in result.column_map:
                problems.append(
                    f"Tab '{title}' has no column for survey item '{col.name}': expected the question "
                    f"'{expected[col.name]}'. Rename the column or set [survey_items] {col.name} to the "
                    f"question text the sheet uses."
                )
    if problems:
        header_row = _header_further_down(raw, columns, expected)
        if header_row:
            problems = [
                f"Tab '{title}': the column names are in sheet row {header_row}, not row 1 (row 1 looks "
                f"like a title, often merged cells). Delete the rows above the column names so that "
                f"they are in row 1."
            ]
        return result, None, _unique(problems)

    keep, distinct = checked_positions(raw, result)
    if name in REQUIRED_TABS and not len(keep):
        problems.append(no_rows_problem(title))
        return result, None, problems
    data: dict[str, Any] = {"sheet_row": np.asarray(raw.sheet_rows, dtype=np.int64)[keep],
                            "row__formula_error": None, "row__formula_uncalculated": None}
    error = np.full(len(keep), None, dtype=object)
    uncalculated = np.full(len(keep), None, dtype=object)
    for col in columns:
        # Each distinct cell text is read once (dates, numbers, answers, enumerations), then mapped back.
        codes, uniques = distinct(result.column_map.get(col.name))
        codes = codes[keep]
        texts = [u.strip() for u in uniques]
        data[col.name] = by_code([t or None for t in texts], codes)
        err = [f"{col.name}\t{t}" if t.casefold() in FORMULA_ERRORS else None for t in texts]
        unc = [f"{col.name}\t{t}" if col.kind != "text" and t.casefold() not in FORMULA_ERRORS
               and is_uncalculated_formula(t) else None for t in texts]
        if any(err):
            error = np.where(pd.isna(error), by_code(err, codes), error)
        if any(unc):
            uncalculated = np.where(pd.isna(uncalculated), by_code(unc, codes), uncalculated)
        if col.kind not in ("date", "timestamp", "number", "likert", "enum"):
            continue
        derived = [_derived(col, t, settings) for t in texts]
        values = [d[0] for d in derived]
        data[f"{col.name}__value"] = by_code(values, codes)
        if col.kind in ("number", "likert"):
            # numbers (and answers) as floats, NaN when blank, once the column has one
            floats = by_float(values, codes)
            if not np.isnan(floats).all():
                data[f"{col.name}__value"] = floats
        if col.kind in ("date", "timestamp"):
            data[f"{col.name}__when"] = by_datetime(values, codes)
        if col.kind in ("date", "timestamp", "number", "likert"):
            data[f"{col.name}__invalid"] = by_code([d[1] for d in derived], codes)
    data["row__formula_error"], data["row__formula_uncalculated"] = error, uncalculated
    data["row__repeat"] = _repeats(data, name)
    frame = pd.DataFrame({c: data[c] for c in [*_frame_columns(columns), *_when_columns(columns), "row__repeat"]})
    return result, frame, problems


def _loose(header: str) -> str:
    return re.sub(r"[\s_-]+", "_", parsing.norm_key(header))


def _unread_look_alikes(raw: RawTab, columns: list[Column], expected: dict[str, str], column_map: dict[str, int],
                        settings) -> list[str]:
    """An optional column that a figure reads (a date, id or enumeration: left_on, completed_on,
    accountable_id, facilitator_id, size_tier, role) may be absent, but not misspelled: under a
    header such as 'Completed' or 'Left on' it would be ignored and read as blank in every row
    (task completion 0%, members who left still on the roster). A header left unread that is
    close to such a column's name is an error naming both."""
    read = set(column_map.values())
    unread = {i: h.strip() for i, h in enumerate(raw.header) if h.strip() and i not in read}
    problems = []
    for col in columns:
        if col.required or col.kind == "text" or col.name in column_map:
            continue
        want = _loose(expected[col.name])
        for i, h in unread.items():
            if difflib.SequenceMatcher(None, _loose(h), want).ratio() < 0.7:
                continue
            problems.append(
                f"Tab '{raw.title}' has no column '{expected[col.name]}', but it has a column '{h}' (column "
                f"{column_letter(i)}) that is not read: as it is, every {col.name} would be read as blank. If it "
                f"holds {col.name}, rename it to '{expected[col.name]}', or map it in the config: [columns] "
                f"{raw.name} = {{ {col.name} = \"{h}\" }}; if not, rename it to something else."
            )
            break
    return problems


def non_blank_rows(raw: RawTab, result: TabResult):
    """The rows to check; wholly blank rows are skipped and counted (docs/data-contract.md)."""
    for sheet_row, cells in raw.rows:
        if not any(str(c).strip() for c in cells):
            result.blank_rows.append(sheet_row)
            continue
        result.checked_rows.append(sheet_row)
        yield sheet_row, cells


def no_rows_problem(title: str) -> str:
    return (f"Tab '{title}' has a header but no rows. Fill in the tab (or point [source] location at "
            f"the right spreadsheet).")


def _header_further_down(raw: RawTab, columns: list[Column], expected: dict[str, str]) -> int | None:
    """The sheet row (2..6) that holds all required headers when row 1 does not, else None."""
    required = {parsing.norm_key(expected[c.name]) for c in columns if c.required}
    for sheet_row, cells in RawTab(raw.name, raw.title, columns=[c[:5] for c in raw.columns],
                                   sheet_rows=raw.sheet_rows[:5],
                                   lengths=raw.lengths[:5] if raw.lengths else None).rows:
        if required <= {parsing.norm_key(c) for c in cells}:
            return sheet_row
    return None


def _when_columns(columns: list[Column]) -> list[str]:
    """``<col>__when`` of each date and timestamp column, after every other column of the frame."""
    return [f"{col.name}__when" for col in columns if col.kind in ("date", "timestamp")]


def _frame_columns(columns: list[Column]) -> list[str]:
    out = ["sheet_row", "row__formula_error", "row__formula_uncalculated"]
    for col in columns:
        out.append(col.name)
        if col.kind in ("date", "timestamp", "number", "likert", "enum"):
            out.append(f"{col.name}__value")
        if col.kind in ("date", "timestamp", "number", "likert"):
            out.append(f"{col.name}__invalid")
    return out


def by_code(values: list, codes):
    """values[code] for each code of pandas.factorize, as an object array; None for code -1 (a blank)."""
    import numpy as np

    table = np.empty(len(values) + 1, dtype=object)
    table[:-1] = values
    return table[codes]


def by_float(values: list, codes):
    """values[code] as floats (NaN for None and for code -1) for each code of pandas.factorize."""
    import numpy as np

    return np.array([np.nan if v is None else v for v in values] + [np.nan], dtype=np.float64)[codes]


def by_datetime(values: list, codes):
    """The ISO date or timestamp texts values[code] as datetimes (NaT for None and code -1), typed as
    pandas.to_datetime(format="ISO8601") types them: microseconds, or seconds when all are NaT."""
    import numpy as np

    table = np.array(["NaT" if v is None else v for v in values] + ["NaT"], dtype="datetime64[us]")[codes]
    return table if not np.isnat(table).all() else table.astype("datetime64[s]")


def checked_positions(raw: RawTab, result: TabResult):
    """Positions of the rows to check; wholly blank rows are skipped and counted
    (docs/data-contract.md). Decided per distinct cell text, column by column. Also returns
    ``distinct(index)``: column ``index``'s (codes, distinct texts) over all rows (pandas.factorize;
    every row blank for a column the tab does not have), so each column is factorized once."""
    import numpy as np
    import pandas as pd

    n = len(raw.sheet_rows)
    blank = np.ones(n, dtype=bool)
    factorized = []
    for col in raw.columns:
        codes, uniques = pd.factorize(np.asarray(col, dtype=object))
        factorized.append((codes, uniques))
        if len(uniques):
            blank &= np.array([not str(u).strip() for u in uniques], dtype=bool)[codes]
    rows = np.asarray(raw.sheet_rows, dtype=np.int64)
    result.blank_rows.extend(rows[blank].tolist())
    result.checked_rows.extend(rows[~blank].tolist())

    def distinct(index: int | None):
        if index is None or index >= len(factorized):
            return np.zeros(n, dtype=np.intp), np.array([""], dtype=object)
        return factorized[index]

    return np.flatnonzero(~blank), distinct


def _derived(col: Column, text: str, settings) -> tuple[Any, Any]:
    """(value, invalid text) of one distinct trimmed cell text of a column."""
    rec: dict[str, Any] = {}
    _derive(rec, col, text, settings)
    return rec.get(f"{col.name}__value"), rec.get(f"{col.name}__invalid")


def _derive(rec: dict[str, Any], col: Column, text: str, settings) -> None:
    fmt = settings.date_format
    if col.kind == "enum":
        # Attendance status accepts the grid's marks in long form too (P/A/E, yes/no, x, TRUE/FALSE).
        mark = parsing.attendance_mark(text) if col.enum == "status" else None
        rec[f"{col.name}__value"] = mark or parsing.enum_value(text)
        return
    if col.kind not in ("date", "timestamp", "number", "likert"):
        return
    value = None
    if text:
        if col.kind == "date":
            d = dates.try_parse_date(text, fmt)
            value = d.isoformat() if d else None
        elif col.kind == "timestamp":
            ts = dates.try_parse_timestamp(text, fmt)
            value = ts.isoformat(sep=" ") if ts else None
        elif col.kind == "number":
            value = parsing.parse_number(text)
        else:
            # the number, the item's own labels, or 'Agree' on a 1-5 item (a 5 of 5 is not a 5 of 7)
            value = settings.instrument.item(col.name).parse(text)
    rec[f"{col.name}__value"] = value
    rec[f"{col.name}__invalid"] = text if text and value is None else None


def _repeats(data: dict, tab: str):
    """``row__repeat`` of the frame's columns ``data`` (name -> array; the key columns' blanks None):
    for a record whose unique key (all of it filled in) an earlier record has,
    "repeats row <the first one's sheet row>". Keys are compared as parsing.norm_key compares them
    (case, spacing, characters that show nothing and Unicode forms aside): "M03", "m03", a full-width
    "Ｍ03" and "M03" with a zero-width space are one member written four ways, never four members,
    and the later rows are set aside as repeats that say how the first was written. Keys are
    compared as codes (pandas.factorize per key column, combined), so a tab without repeats costs
    one factorize per key column."""
    import numpy as np
    import pandas as pd

    key = list(UNIQUE_KEYS.get(tab) or ())
    n = len(data["sheet_row"])
    repeats = np.full(n, None, dtype=object)
    if not key or not n:
        return repeats
    codes = np.zeros(n, dtype=np.int64)
    filled = np.ones(n, dtype=bool)
    for k in key:
        written, uniques = pd.factorize(np.asarray(data[k], dtype=object))  # blank (None/NaN) -> -1
        same, folded = pd.factorize(np.array([parsing.norm_key(u) for u in uniques], dtype=object))
        c = np.where(written >= 0, same[written] if len(same) else written, -1)
        filled &= c >= 0
        codes = codes * (len(folded) + 1) + c
    positions = np.flatnonzero(filled)
    _, first, inverse = np.unique(codes[positions], return_index=True, return_inverse=True)
    if len(first) == len(positions):
        return repeats
    first_at = positions[first[inverse.reshape(-1)]]  # each filled record's key's first record
    again = first_at != positions
    at, original = positions[again], first_at[again]
    rows = np.asarray(data["sheet_row"])
    texts = [np.asarray(data[k], dtype=object) for k in key]

    def written_as(i: int, j: int) -> str:
        """How the first row wrote the key, when this row writes it otherwise."""
        if all(t[i] == t[j] for t in texts):
            return ""
        first = ", ".join(f"'{t[j]}'" for t in texts)
        if all(_shown(t[i]) == _shown(t[j]) for t in texts):  # looks the same: say what differs
            stored = ", ".join(ascii(t[i]) for t in texts)
            return (f", written {first} there; this row stores the same letters as {stored}, an accent kept apart "
                    f"from its letter or a character that shows nothing (retype the id): ids that differ only in "
                    f"case, spacing, invisible characters or the Unicode form of a letter are one id")
        return (f", written {first} there: ids that differ only in case, spacing, invisible characters or the "
                f"Unicode form of a letter (full-width, accents composed or not) are one id")

    if tab == "goal_measurements":
        goal, day = texts
        repeats[at] = [f"{goal[i]} is measured again on {day[i]} (repeats row {rows[j]}{written_as(i, j)})"
                       for i, j in zip(at, original)]
    else:
        repeats[at] = [f"repeats row {rows[j]}{written_as(i, j)}" for i, j in zip(at, original)]
    return repeats


def _shown(text) -> str:
    """A cell as it shows: the same letters composed (NFC), without the characters that show nothing."""
    import unicodedata

    return unicodedata.normalize("NFC", parsing.strip_invisible(str(text)))


def _original(header: list[str], key: str) -> str:
    for h in header:
        if parsing.norm_key(h) == key:
            return h.strip()
    return key


def _unique(items: list[str]) -> list[str]:
    seen, out = set(), []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out
