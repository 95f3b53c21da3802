"""Lean, linear validation (issue 13): column-wise tabs and snapshots, one GX pass per stage for
many coalitions, typed columns loaded for staging, coalition_id in every table."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pytest

from coalition_metrics.config import PROJECT_ROOT, ConfigError, load_settings
from coalition_metrics.pipeline import extract
from coalition_metrics.snapshot import _canonical, _tab_blob, _tab_document
from coalition_metrics.sources import RawTab
from coalition_metrics.validate import validate_many, validate_snapshot


@pytest.mark.parametrize("tab", [
    RawTab("t", "T", ["a", "b"], [(2, ["x", "y"]), (3, ["x", "y", "z"]), (5, ["\"q\"", "é✓\n"])]),
    RawTab("t", "Tab's \"title\"", ["a"], [(2, []), (3, ["\u2028\x00"])]),
    RawTab("t", "T", [], []),
    RawTab("t", "T", present=False),
])
def test_snapshot_file_written_column_wise_is_the_canonical_json(tab):
    """The snapshot's bytes (so its hash and id) are those of the canonical JSON document, ragged rows too."""
    assert _tab_blob(tab) == _canonical(_tab_document(tab))
    assert RawTab(tab.name, tab.title, tab.header, tab.rows, tab.present).rows == tab.rows


def test_many_coalitions_validate_as_each_alone():
    settings = load_settings(None, environ={})
    other = settings.with_overrides(coalition={"id": "other"})
    tabs = extract(settings)
    today = date(2026, 10, 5)
    alone = validate_snapshot(tabs, settings, today)
    together = validate_many([(settings, tabs, today), (other, tabs, today)])
    assert len(alone.quarantined) == 9
    for result in together:
        assert [q.as_dict() for q in result.quarantined] == [q.as_dict() for q in alone.quarantined]
        assert result.counts() == alone.counts()
        assert [t.checks for t in result.tabs.values()] == [t.checks for t in alone.tabs.values()]


def test_staging_parses_nothing_with_settings():
    """Date format, instrument and enumerations differ per coalition: staging reads parsed columns."""
    for path in sorted((PROJECT_ROOT / "transforms" / "staging").glob("*.sql")):
        sql = path.read_text()
        assert not re.search(r"\bcm_(date|timestamp|answer|number|likert|enum|attendance_mark|key)\(", sql), path.name


def test_coalition_id_is_the_first_column_of_every_raw_parsed_quarantine_and_staging_table(example_run):
    db = example_run.folder.parent.parent / "coalition.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'parsed', 'quarantine', 'staging')").fetchall()
        assert len(tables) >= 8 + 9 + 1 + 9
        for schema, table in tables:
            first = con.execute("select column_name from information_schema.columns where table_schema = ? and "
                                "table_name = ? order by ordinal_position limit 1", [schema, table]).fetchone()[0]
            assert first == "coalition_id", f"{schema}.{table}"
            ids = con.execute(f'select distinct coalition_id from {schema}."{table}"').fetchall()
            assert ids in ([], [("coalition",)]), f"{schema}.{table}"


def test_coalition_id_is_checked():
    with pytest.raises(ConfigError, match=r"\[coalition\] id"):
        load_settings(None, environ={}).with_overrides(coalition={"id": "Not OK"})


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_dates_for_range_checks_clip_as_pandas_does(unit):
    """suites._comparable: dates outside the nanosecond range are clipped to its ends (on the same side
    of any bound), NaT stays NaT, and the result is nanoseconds: what pandas' clip gave, 20x faster."""
    import numpy as np
    import pandas as pd

    from coalition_metrics.validate.suites import _comparable

    values = np.array(["2020-01-05", "1500-01-01", "NaT", "3000-12-31", "1678-01-01", "2262-01-01", "2261-12-31",
                       "1677-12-31", "0001-01-01", "9999-12-31"], dtype=f"datetime64[{unit}]")
    column = pd.Series(values)
    lo, hi = pd.Timestamp("1678-01-01").as_unit(unit), pd.Timestamp("2262-01-01").as_unit(unit)
    expected = column.clip(lower=lo, upper=hi).astype("datetime64[ns]").to_numpy()
    got = _comparable(column)
    assert got.dtype == np.dtype("datetime64[ns]") and np.array_equal(got, expected, equal_nan=True)
    assert str(got[1])[:10] == "1678-01-01" and str(got[3])[:10] == "2262-01-01" and np.isnat(got[2])


def test_snapshot_rows_written_column_wise_are_the_canonical_json_for_random_tabs():
    """Columns with and without characters JSON escapes, one column or several, one row or many."""
    import random

    rng = random.Random(5)
    alphabet = ["a", "é", " ", "\"", "\\", "\n", "\x00", "\u2028", "1", "✓", "\t", "/"]
    for _ in range(400):
        width, n = rng.randint(1, 4), rng.randint(1, 6)
        clean = [rng.random() < 0.6 for _ in range(width)]
        rows = [(2 + i + rng.randint(0, 2), ["".join(rng.choice(alphabet[:1] + alphabet[1:3] if clean[j] else alphabet)
                                                     for _ in range(rng.randint(0, 4))) for j in range(width)])
                for i in range(n)]
        tab = RawTab("t", "T", [f"h{j}" for j in range(width)], rows)
        assert tab.lengths is None
        assert _tab_blob(tab) == _canonical(_tab_document(tab))


def test_repeated_keys_are_marked_as_a_row_by_row_scan_marks_them():
    """frames._repeats (codes per key column) against the rule itself: a record whose key,
    all filled in, an earlier record has (compared as parsing.norm_key compares: "a", "A" and " a"
    are one id) repeats that first record's sheet row, saying how the first wrote it when it wrote
    it otherwise."""
    import random
    import unicodedata

    import numpy as np

    from coalition_metrics.contract import UNIQUE_KEYS
    from coalition_metrics.parsing import norm_key
    from coalition_metrics.validate.frames import _repeats

    rng = random.Random(11)
    seen = {"same on screen": 0, "written otherwise": 0}
    for _ in range(1500):
        tab = rng.choice(list(UNIQUE_KEYS))
        key = UNIQUE_KEYS[tab]
        n = rng.randint(0, 25)
        data = {"sheet_row": np.array(rng.sample(range(2, 300), n), dtype=np.int64)}
        for k in key:
            data[k] = [rng.choice(["a", "b", "A", None, " a", "2026-01-01", "a\u200b", "\u00e1", "a\u0301", "\uff41"])
                       for _ in range(n)]
        repeats = _repeats({k: np.array(v, dtype=object) if k != "sheet_row" else v for k, v in data.items()}, tab)
        first, expected = {}, []
        for i in range(n):
            k = tuple(data[c][i] for c in key)
            if None in k:
                expected.append(None)
                continue
            j = first.setdefault(tuple(norm_key(v) for v in k), i)
            written, q = tuple(data[c][j] for c in key), "'"
            shown = [unicodedata.normalize("NFC", v.replace("\u200b", "")) for v in written + k]
            if written == k:
                how = ""
            elif shown[:len(key)] == shown[len(key):]:  # the same letters on screen
                how = (f", written {', '.join(f'{q}{v}{q}' for v in written)} there; this row stores the same letters as "
                       f"{', '.join(ascii(v) for v in k)}, an accent kept apart from its letter or a character that "
                       f"shows nothing (retype the id): ids that differ only in case, spacing, invisible characters or "
                       f"the Unicode form of a letter are one id")
                seen["same on screen"] += 1
            else:
                seen["written otherwise"] += 1
                how = (f", written {', '.join(f'{q}{v}{q}' for v in written)} there: ids that differ only in case, "
                       f"spacing, invisible characters or the Unicode form of a letter (full-width, accents composed "
                       f"or not) are one id")
            if j == i:
                expected.append(None)
            elif tab == "goal_measurements":
                expected.append(f"{k[0]} is measured again on {k[1]} (repeats row {data['sheet_row'][j]}{how})")
            else:
                expected.append(f"repeats row {data['sheet_row'][j]}{how}")
        assert list(repeats) == expected
    assert min(seen.values()) > 50, seen  # both ways of writing an id again were checked
