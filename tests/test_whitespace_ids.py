"""Identifiers are trimmed by one rule (parsing.WHITESPACE, what Python's str.strip trims): a
member id typed as "M03<tab>", a meeting id with a line break after it (Alt+Enter in a Sheets
cell) or an owner id between ideographic spaces is the same id in validation and in the SQL.
DuckDB's own trim() keeps tabs and line breaks: with it, validation accepted "M03<tab>" as M03
while staging counted the row for another member, so M03 was absent from 40 meetings, an alert
was raised and attendance_rate fell from 0.8015 to 0.6838, with no row quarantined."""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from coalition_metrics.cli import main
from coalition_metrics.parsing import WHITESPACE

ROOT = Path(__file__).resolve().parent.parent
SPACES = ["\t", "\n", "\u3000", "\xa0", "\r\n", " \t ", "\u2028", "\x0b"]


def test_whitespace_is_what_str_strip_trims():
    assert set(WHITESPACE) == {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}


def test_the_sql_trim_is_str_strip():
    """cm_trim (the staging models' trim) gives str.strip()'s text for any text: every whitespace
    character at either end or inside, a space before a combining accent, characters a regular
    expression treats specially, invisible characters, empty and null."""
    import random

    from coalition_metrics.config import load_settings
    from coalition_metrics.transform import register_functions

    con = duckdb.connect()
    register_functions(con, load_settings(None, environ={}))
    rng = random.Random(17)
    pool = list(WHITESPACE) + ["a", "M03", "́", "​", "﻿", "é", "x y", "'", "%", "\\", "[", "]", "^"]
    texts = ["", " ", " ́x", "x ́", "　M03　", None]
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(0, 8))) for _ in range(3000)]
    got = con.execute("select cm_trim(t) from unnest(?::varchar[]) as u(t)", [texts]).fetchall()
    assert [g for (g,) in got] == [None if t is None else t.strip() for t in texts]


def padded_copy(tmp_path: Path) -> Path:
    """The example with whitespace around ids in every tab that joins on them."""
    sheet = tmp_path / "padded"
    shutil.copytree(ROOT / "examples" / "riverside" / "csv", sheet)
    columns = {"attendance.csv": ("meeting_id", "member_id"), "meetings.csv": ("meeting_id", "facilitator_id"),
               "members.csv": ("member_id",), "tasks.csv": ("task_id", "owner_id", "accountable_id"),
               "goal_measurements.csv": ("goal_id",), "goals.csv": ("goal_id",)}
    k = 0
    for name, cols in columns.items():
        path = sheet / name
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
            header = list(rows[0].keys())
        for i, row in enumerate(rows):
            for col in cols:
                if row.get(col) and i % 3 == 0:
                    pad = SPACES[k % len(SPACES)]
                    row[col] = pad + row[col] if k % 2 else row[col] + pad
                    k += 1
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=header)
            w.writeheader()
            w.writerows(rows)
    assert k > 100
    return sheet


def published(out: Path) -> tuple[str, list]:
    (csv_path,) = out.glob("2026-Q3/*/funder_metrics.csv")
    con = duckdb.connect(str(out / "coalition.duckdb"), read_only=True)
    try:
        rows = con.execute("select published_id, quarter, value, n, suppressed from marts.published_metrics "
                           "order by all").fetchall()
        quarantined = con.execute("select count(*) from quarantine.rows").fetchone()[0]
    finally:
        con.close()
    return csv_path.read_text(encoding="utf-8"), rows, quarantined


RUN = ["run", "--no-prefect", "--quarter", "2026-Q3", "--no-write-back"]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The example itself, published once for this module's comparisons."""
    out = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COALITION_OUTPUT_PDF", "false")
        mp.setenv("COALITION_OUTPUT_LINEAGE", "false")
        assert main(RUN + ["--source", str(ROOT / "examples" / "riverside" / "csv"), "--out", str(out)]) == 0
    return published(out)


def test_padded_ids_publish_the_same_figures(tmp_path, monkeypatch, clean_run):
    monkeypatch.setenv("COALITION_OUTPUT_PDF", "false")
    monkeypatch.setenv("COALITION_OUTPUT_LINEAGE", "false")
    padded = tmp_path / "padded-out"
    assert main(RUN + ["--source", str(padded_copy(tmp_path)), "--out", str(padded)]) == 0
    clean_csv, clean_rows, clean_q = clean_run
    padded_csv, padded_rows, padded_q = published(padded)
    assert padded_q == clean_q
    assert padded_rows == clean_rows
    assert padded_csv == clean_csv
    assert ("attendance_rate", "2024-Q4", 0.8015) in {(r[0], r[1], round(r[2], 4)) for r in clean_rows if r[2] is not None}


def test_an_id_written_again_with_another_case_or_an_invisible_character_is_a_repeat(tmp_path, monkeypatch, clean_run):
    """A copied row whose id differs from the first only in case or characters that show nothing
    (a zero-width space, a byte-order mark) is the same id again: set aside as a repeat that says
    how the first row wrote it. Before, each copy counted as a new meeting, task or member (a 21st
    meeting in 2026-Q3, a tenth member on the roster) with nothing set aside."""
    monkeypatch.setenv("COALITION_OUTPUT_PDF", "false")
    monkeypatch.setenv("COALITION_OUTPUT_LINEAGE", "false")
    sheet = copy_with(tmp_path, "copies", {"meetings.csv": copied_row("WC-2026-07-07,", "WC-2026-07-07\u200b,"),
                                           "tasks.csv": copied_row("T027,", "T027\ufeff,"),
                                           "members.csv": copied_row("M03,", "m03,")})
    reasons = repeats_set_aside(tmp_path, sheet, clean_run, 3)
    assert set(reasons) == {"meetings", "tasks", "members"}
    assert "written 'M03' there: ids that differ only in case" in reasons["members"]
    assert "this row stores the same letters as 'WC-2026-07-07\\u200b'" in reasons["meetings"]


def repeats_set_aside(tmp_path: Path, sheet: Path, clean_run, extra: int) -> dict[str, str]:
    """Run ``sheet``: its published figures and funder CSV must be the clean example's, with ``extra``
    more rows set aside. Returns each tab's reason that says how a repeated id was first written."""
    out = tmp_path / f"{sheet.name}-out"
    assert main(RUN + ["--source", str(sheet), "--out", str(out)]) == 0
    clean_csv, clean_rows, clean_q = clean_run
    got_csv, got_rows, got_q = published(out)
    assert got_rows == clean_rows
    assert got_csv == clean_csv
    assert got_q == clean_q + extra
    con = duckdb.connect(str(out / "coalition.duckdb"), read_only=True)
    try:
        return dict(con.execute("select tab, reason from quarantine.rows where reason like '%written%'").fetchall())
    finally:
        con.close()


def copy_with(tmp_path: Path, name: str, edits: dict) -> Path:
    """The example with each tab's text edited: ``edits`` maps a file to functions of its text."""
    sheet = tmp_path / name
    shutil.copytree(ROOT / "examples" / "riverside" / "csv", sheet)
    for file, edit in edits.items():
        path = sheet / file
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return sheet


def copied_row(start: str, again: str):
    """Append a copy of the row starting ``start`` whose first cell is written ``again``."""
    def edit(text: str) -> str:
        (line,) = [x for x in text.splitlines() if x.startswith(start)]
        return text + again + line[len(start):] + "\n"
    return edit


def test_an_id_or_a_value_in_another_unicode_form_is_the_same_one(tmp_path, monkeypatch, clean_run):
    """Ids are compared for repeats, and enumerated values matched, in their plain Unicode form
    (NFKC): a full-width "ＷC-2026-07-07", "T０27" or "Ｍ03" typed with an Asian input method is a
    repeat of the row that wrote it in ASCII, and a full-width "Ｐｒｅｓｅｎｔ" is present. Before,
    each copy counted as a new meeting, task or member with nothing set aside."""
    monkeypatch.setenv("COALITION_OUTPUT_PDF", "false")
    monkeypatch.setenv("COALITION_OUTPUT_LINEAGE", "false")

    def status(text: str) -> str:
        head, first, rest = text.partition("\nWC-2024-10-01,M01,present\n")
        assert first
        return head + "\nWC-2024-10-01,M01,\uff30\uff52\uff45\uff53\uff45\uff4e\uff54\n" + rest

    sheet = copy_with(tmp_path, "wide", {"meetings.csv": copied_row("WC-2026-07-07,", "\uff37C-2026-07-07,"),
                                         "tasks.csv": copied_row("T027,", "T\uff1027,"),
                                         "members.csv": copied_row("M03,", "\uff2d03,"),
                                         "attendance.csv": status})
    reasons = repeats_set_aside(tmp_path, sheet, clean_run, 3)
    assert set(reasons) == {"meetings", "tasks", "members"}
    assert "written 'M03' there: ids that differ only in case, spacing, invisible characters or the Unicode form" \
        in reasons["members"]


def test_an_accent_stored_apart_from_its_letter_is_the_accented_letter(tmp_path, monkeypatch):
    """A member "MÉ1" written again as "M", "E", a combining acute accent and "1" (decomposed, as
    text pasted from a PDF or a Mac file name stores it) is the same member: the copy is set aside
    as a repeat and every figure is what the roster with "MÉ1" once gives."""
    monkeypatch.setenv("COALITION_OUTPUT_PDF", "false")
    monkeypatch.setenv("COALITION_OUTPUT_LINEAGE", "false")
    member = "M\u00c91,Eastside Clinic,health care,small,2025-01-06,,member\n"
    once = copy_with(tmp_path, "once", {"members.csv": lambda text: text + member})
    twice = copy_with(tmp_path, "twice", {"members.csv": lambda text: text + member
                                          + copied_row("M\u00c91,", "ME\u03011,")(member)[len(member):]})
    assert ("ME\u03011,Eastside Clinic" in (twice / "members.csv").read_text(encoding="utf-8"))
    runs = {}
    for sheet in (once, twice):
        out = tmp_path / f"{sheet.name}-out"
        assert main(RUN + ["--source", str(sheet), "--out", str(out)]) == 0
        runs[sheet.name] = published(out)
    assert runs["twice"][1] == runs["once"][1]
    assert runs["twice"][0] == runs["once"][0]
    assert runs["twice"][2] == runs["once"][2] + 1
    members = [r for r in runs["once"][1] if r[0].startswith("active_members")]
    assert members, "the figures include the active member count"
