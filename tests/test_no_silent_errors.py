"""Inputs that once published a wrong figure with exit 0, end to end: read from files by the real
sources, validated, computed in DuckDB and published. Each now ends in a blocking error that names
tab, row and column, a quarantined row the report counts, or a figure that is "no data".

The corpus in test_bad_inputs.py states each class's validation outcome; these tests check what is
published (or that nothing is)."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from coalition_metrics.errors import SourceError
from coalition_metrics.sources.csv_folder import CsvFolderSource
from coalition_metrics.sources.xlsx import XlsxSource

BASE = Path(__file__).parent / "bad_inputs" / "base"
TABS = {t: t for t in ("members", "meetings", "attendance", "survey", "tasks", "goals", "goal_measurements", "milestones")}


@pytest.fixture
def sheet(tmp_path):
    target = tmp_path / "sheet"
    shutil.copytree(BASE, target)
    return target


def _published(settings, folder: Path, out: Path, **overrides) -> dict[str, dict]:
    from coalition_metrics.pipeline import run_quarterly

    s = settings.with_overrides(**overrides) if overrides else settings
    result = run_quarterly(s, quarter="2026-Q3", source=str(folder), out=out)
    funder = json.loads((result.folder / "funder_metrics.json").read_text())
    return {m["metric_id"]: m for m in funder["metrics"] if m["quarter"] == "2026-Q3"}, result


# ---- CSV: a quote that swallows rows ---------------------------------------------------------
def test_an_unclosed_quote_stops_the_run_naming_tab_row_line_and_column(sheet):
    lines = (sheet / "tasks.csv").read_text().splitlines()
    lines[3] = lines[3].replace("Book the fall venue", '"Book the fall venue')  # sheet row 4
    (sheet / "tasks.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceError) as err:
        CsvFolderSource(sheet).read_tabs(TABS)
    assert str(err.value) == (
        "Tab 'tasks' (tasks.csv), sheet row 4 (line 4 of the file), column B (title): a quote opens there and "
        "is never closed, so the 2 lines after it would be read as one cell and their rows lost. Close the "
        "quote (or remove it) and save the file again.")


def test_a_quote_closed_rows_later_stops_the_run(sheet):
    lines = (sheet / "tasks.csv").read_text().splitlines()
    lines[2] = lines[2].replace("Brief the county board", '"Brief the county board')  # row 3 opens
    lines[4] = lines[4].replace("Collect clinic data", 'Collect clinic data"')  # closed two rows later
    (sheet / "tasks.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceError, match=r"Tab 'tasks' \(tasks.csv\), sheet row 3 \(line 3 of the file\), column B "
                                          r"\(title\): a quoted cell runs over 3 lines, 1 of which looks like a row of this tab"):
        CsvFolderSource(sheet).read_tabs(TABS)


def test_a_cell_with_its_own_line_breaks_is_read_as_one_cell(sheet):
    with (sheet / "milestones.csv").open("a") as fh:
        fh.write('2026-09-20,other,"Resource fair follow-up:\nthank-you notes sent\nvolunteers listed",M03\n')
    tab = CsvFolderSource(sheet).read_tabs(TABS)["milestones"]
    assert tab.rows[-1] == (7, ["2026-09-20", "other", "Resource fair follow-up:\nthank-you notes sent\nvolunteers listed", "M03"])


def test_a_row_wider_than_the_header_stops_the_run(sheet, settings, tmp_path):
    """'1,210' typed without quotes: value read 1 (goal_progress 0.25% instead of 52.5%), the rest
    shifted into note and a column with no header, with exit 0."""
    text = (sheet / "goal_measurements.csv").read_text()
    (sheet / "goal_measurements.csv").write_text(text.replace("G3,2026-09-30,210,program log",
                                                              "G3,2026-09-30,1,210,program log"))
    with pytest.raises(SourceError) as err:
        _published(settings, sheet, tmp_path / "out")
    assert str(err.value).startswith(
        "Tab 'goal_measurements' (goal_measurements.csv), sheet row 7 (line 7 of the file) has 5 cells but the "
        "header has 4: column E holds 'program log' under no header.")
    assert not (tmp_path / "out" / "2026-Q3").exists()


def test_a_grid_row_wider_than_its_header_stops_the_run(sheet):
    """A mark past the last meeting column was dropped without a word."""
    (sheet / "attendance.csv").write_text("member_id,WC-07-07,WC-07-14\nM01,P,P\nM02,P,A,P\n")
    with pytest.raises(SourceError, match=r"Tab 'attendance' \(attendance.csv\), sheet row 3 \(line 3 of the file\) "
                                          r"has 4 cells but the header has 3: column D holds 'P' under no header"):
        CsvFolderSource(sheet).read_tabs(TABS)


def test_trailing_empty_cells_past_the_header_are_fine(sheet):
    text = (sheet / "tasks.csv").read_text().replace("2026-07-18,done\n", "2026-07-18,done,,\n")
    (sheet / "tasks.csv").write_text(text)
    assert CsvFolderSource(sheet).read_tabs(TABS)["tasks"].rows[0][1][:9][-1] == "done"


# ---- xlsx: formulas saved without their values ----------------------------------------------
def _workbook(path: Path, edit) -> None:
    import csv

    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for tab in TABS:
        ws = wb.create_sheet(tab)
        with (BASE / f"{tab}.csv").open(newline="") as fh:
            for row in csv.reader(fh):
                ws.append(row)
    edit(wb)
    wb.save(path)


def test_a_formula_with_no_saved_value_is_set_aside_not_read_as_blank(tmp_path, settings):
    """openpyxl saves formulas without values, as a script would: completed_on must not read as
    'not completed' (task completion 100% -> 0%)."""
    def edit(wb):
        ws = wb["tasks"]
        ws["H2"] = "=G2-2"  # completed_on of T1 as a formula, never calculated
    path = tmp_path / "w.xlsx"
    _workbook(path, edit)
    tab = XlsxSource(path).read_tabs(TABS)["tasks"]
    assert tab.rows[0][1][7] == "=G2-2"  # the snapshot keeps the formula, not a blank
    from coalition_metrics.validate import validate_snapshot
    from datetime import date

    result = validate_snapshot(XlsxSource(path).read_tabs(TABS), settings, today=date(2026, 11, 24))
    assert [(q.tab, q.sheet_row, q.column, q.value) for q in result.quarantined] == [("tasks", 2, "completed_on", "=G2-2")]
    assert "holds the formula =G2-2 but no value" in result.quarantined[0].reason


def test_a_formula_whose_saved_value_is_empty_text_reads_as_blank(tmp_path):
    """Excel saves =IF(...,"",...) with an empty string value: that cell is blank, not a problem."""
    def edit(wb):
        wb["tasks"]["H4"] = '=IF(I4="done",G4,"")'
        wb["tasks"]["H2"] = "=G2-2"
    path = tmp_path / "w.xlsx"
    _workbook(path, edit)
    # Give the two formulas the values Excel would have saved: "" (a string) and 46221 (2026-07-18).
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in files if n.startswith("xl/worksheets/") and b"IF(I4" in files[n])
    xml = files[name].decode()
    xml, n1 = re.subn(r'<c r="H4"([^>]*)><f>(.*?)</f><v\s*/>', r'<c r="H4" t="str"><f>\2</f><v></v>', xml)
    xml, n2 = re.subn(r'<c r="H2"([^>]*)><f>(.*?)</f><v\s*/>', r'<c r="H2"><f>\2</f><v>46221</v>', xml)
    assert (n1, n2) == (1, 1), xml[:500]
    files[name] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    rows = dict(XlsxSource(path).read_tabs(TABS)["tasks"].rows)
    assert rows[4][7] == "" and rows[2][7] == "46221"


# ---- figures: what is published --------------------------------------------------------------
def test_a_shared_organization_name_is_never_counted_twice(sheet, settings, tmp_path):
    """Two members named 'Northside Food Bank': their response is set aside, the wave has 4
    responses and is suppressed (it was published as n = 5 with the answers counted twice)."""
    with (sheet / "members.csv").open("a") as fh:
        fh.write("M07,Northside Food Bank,nonprofit,small,2026-02-01,,member\n")
    figures, result = _published(settings, sheet, tmp_path / "out")
    assert (figures["satisfaction_mean"]["n"], figures["satisfaction_mean"]["suppressed"]) == (4, True)
    assert figures["satisfaction_mean"]["value"] is None
    assert result.manifest["quarantined_counts"]["survey"] == 1


def test_a_quarter_with_no_counted_meeting_publishes_no_data_not_zero(sheet, settings, tmp_path):
    """Counting only quarterly meetings, of which the coalition held none: nobody could be active."""
    figures, _ = _published(settings, sheet, tmp_path / "out", metrics={"counted_kinds": ["quarterly_meeting"]})
    for metric in ("active_members", "engagement_rate", "retention_rate", "attendance_rate"):
        assert figures[metric]["value"] is None, figures[metric]
    # with the default kinds the same sheet has a figure: 5 of the 6 members were present
    figures, _ = _published(settings, sheet, tmp_path / "out2")
    assert figures["active_members"]["value"] == 5 and figures["engagement_rate"]["value"] == pytest.approx(5 / 6, abs=5e-5)


def test_attendance_outside_membership_is_counted_in_the_report_not_dropped(sheet, settings, tmp_path):
    """M05 left on 2026-07-31: the row for the 2026-08-04 meeting and the September response are
    set aside and counted as such (they were dropped, or counted, without a word)."""
    text = (sheet / "members.csv").read_text().replace(
        "M05,Downtown Business Association,business,medium,2026-01-05,,member",
        "M05,Downtown Business Association,business,medium,2026-01-05,2026-07-31,member")
    (sheet / "members.csv").write_text(text)
    figures, result = _published(settings, sheet, tmp_path / "out")
    assert result.manifest["quarantined_counts"]["attendance"] == 1
    assert result.manifest["quarantined_counts"]["survey"] == 1
    assert figures["satisfaction_mean"]["n"] == 4


def test_two_tabs_named_alike_are_an_error_not_a_guess(sheet, tmp_path):
    shutil.copy(sheet / "members.csv", sheet / "Members .csv")
    with pytest.raises(SourceError, match=r"has 2 tabs named like 'members' \('Members ', 'members'\)"):
        CsvFolderSource(sheet).read_tabs(TABS)

    def edit(wb):
        wb.copy_worksheet(wb["meetings"]).title = "Meetings "
    path = tmp_path / "w.xlsx"
    _workbook(path, edit)
    with pytest.raises(SourceError, match=r"Workbook w.xlsx has 2 tabs named like 'meetings'"):
        XlsxSource(path).read_tabs(TABS)
