"""`coalition template`: the blank workbook (read back with openpyxl) and the Google Sheet update
(faked HTTP: gspread's own code runs; the test checks every request it sends)."""

import csv
import json
from datetime import date

import openpyxl
import pytest
import responses

from conftest import EXAMPLE_CSV
from coalition_metrics import dates, parsing
from coalition_metrics.contract import columns_of
from coalition_metrics.pipeline import extract
from coalition_metrics.template import write_xlsx
from coalition_metrics.validate import validate_snapshot
from conftest import TOKEN_URL
from test_sheets_source import ALLOWED_LOCATIONS, KEY, META_URL, NO_BOUNDARY, FakeGoogle

TABS = ["members", "meetings", "attendance", "survey", "tasks", "goals", "goal_measurements", "milestones"]


@pytest.fixture
def template(tmp_path, settings):
    path = tmp_path / "coalition.xlsx"
    write_xlsx(path, settings)
    return path


def _validations(ws) -> dict[str, str]:
    """First cell range of each data validation -> its list (or type)."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        first = str(dv.sqref).split(":")[0]
        out[first] = dv.formula1 if dv.type == "list" else dv.type
    return out


def test_template_has_every_tab_header_dropdown_and_date_format(template, settings):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["About", *TABS]
    about = [[c for c in row if c] for row in wb["About"].iter_rows(values_only=True)]
    explained = {row[0]: row for row in about if row and row[0] in TABS}
    assert set(explained) == set(TABS)
    assert "counts as absent" in explained["attendance"][2]
    assert "member_id*" in explained["members"][3] and "left_on," in explained["members"][3]

    headers = {t: [c.value for c in wb[t][1]] for t in TABS}
    assert headers["attendance"] == ["meeting_id", "member_id", "status"]
    assert headers["survey"][:2] == ["Timestamp", "Organization"]
    assert headers["survey"][2:] == list(settings.survey_items.values())

    dv = {t: _validations(wb[t]) for t in TABS}
    assert dv["attendance"] == {"A2": "='meetings'!$A$2:$A$1048576", "B2": "='members'!$A$2:$A$1048576",
                                "C2": '"present,absent,excused"'}
    assert dv["meetings"]["C2"] == '"weekly_call,monthly_call,quarterly_meeting,committee,event"'
    assert dv["members"]["D2"] == '"small,medium,large"' and dv["members"]["G2"] == '"convener,steering,member"'
    assert dv["goals"]["D2"] == '"increase,decrease"'
    assert dv["milestones"]["B2"] == '"quick_win,policy_win,media,funding,other"'
    for letter in "CDEFGH":  # the six questions
        assert dv["survey"][f"{letter}2"] == '"1,2,3,4,5"'
    assert dv["tasks"]["D2"] == "='members'!$A$2:$A$1048576" and dv["tasks"]["F2"] == "date"
    # Drop-downs cover whole columns below the header, not the first 2000 rows.
    assert str(wb["attendance"].data_validations.dataValidation[2].sqref) == "C2:C1048576"
    assert all(str(d.sqref).endswith("1048576") for t in TABS for d in wb[t].data_validations.dataValidation)

    # Date formats are column formats (every row a person adds), the header keeps its own.
    cols = {t: wb[t].column_dimensions for t in TABS}
    assert cols["tasks"]["F"].number_format == "yyyy-mm-dd" and cols["tasks"]["H"].number_format == "yyyy-mm-dd"
    assert cols["survey"]["A"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert cols["members"]["E"].number_format == "yyyy-mm-dd"
    assert cols["members"]["A"].number_format == "General" and wb["members"]["E1"].number_format == "General"
    assert wb["attendance"].freeze_panes == "A2"


def _typed(value: str, kind: str, fmt: str):
    """A cell as a person would enter it in the template: dates as dates, numbers as numbers."""
    if value == "":
        return None
    if kind == "date":
        return dates.parse_date(value, fmt)
    if kind == "timestamp":
        return dates.parse_timestamp(value, fmt)
    if kind == "number":
        return parsing.parse_number(value)
    if kind == "likert":
        return int(parsing.parse_likert(value))
    return value


def test_template_filled_with_the_examples_rows_validates_clean(template, settings):
    """Every row the example's validation accepts, typed into the template, passes every check."""
    example = validate_snapshot(extract(settings), settings)
    wb = openpyxl.load_workbook(template)
    filled = 0
    for tab in TABS:
        keep = set(example.tabs[tab].accepted_rows)
        cols = columns_of(tab, settings)
        with (EXAMPLE_CSV / f"{tab}.csv").open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        for sheet_row, row in enumerate(rows[1:], start=2):
            if sheet_row in keep:
                wb[tab].append([_typed(v, c.kind, settings.date_format) for v, c in zip(row, cols)])
                filled += 1
    path = template.with_name("filled.xlsx")
    wb.save(path)
    s = settings.with_overrides(source={"location": str(path)})
    result = validate_snapshot(extract(s), s, today=date(2026, 11, 24))
    assert result.quarantined == []
    assert {t: r.rows_accepted for t, r in result.tabs.items()} == {t: r.rows_accepted for t, r in example.tabs.items()}
    assert filled == sum(r.rows_accepted for r in example.tabs.values()) == 1654


# ---- Google Sheet ------------------------------------------------------------------------------
BATCH_GET = f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}/values:batchGet"
BATCH_UPDATE = f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}:batchUpdate"
VALUES_UPDATE = f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}/values:batchUpdate"


def _sheet_meta(tabs: dict[str, int]) -> dict:
    return {"spreadsheetId": KEY, "properties": {"title": "Coalition records"}, "sheets": [
        {"properties": {"sheetId": sid, "title": t, "index": i, "sheetType": "GRID",
                        "gridProperties": {"rowCount": 1000, "columnCount": 3 if t == "Attendance" else 26}}}
        for i, (t, sid) in enumerate(tabs.items())]}


def test_template_sheet_adds_missing_tabs_and_headers_and_never_touches_data(settings, credentials_file):
    """The sheet has a members tab (headers only partly there, with data) and an attendance tab whose
    three columns are full. Only empty header cells after the last header and new tabs are written."""
    s = settings.with_overrides(source={"credentials_file": str(credentials_file)})
    existing = {"members": 11, "Attendance": 12}
    header_rows = {
        "members": [["member_id", "Organization", "joined_on", "", "Sector"]],  # size_tier, left_on, role missing
        "Attendance": [["meeting_id", "member_id", "status"]],
    }
    replies = {"replies": [{"addSheet": {"properties": {"sheetId": 100 + i, "title": t}}} for i, t in
                           enumerate(["About", "meetings", "survey", "tasks", "goals", "goal_measurements", "milestones"])]
               + [{}]}
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, ALLOWED_LOCATIONS, json=NO_BOUNDARY)
        rsps.add(responses.POST, TOKEN_URL, json={"access_token": "ya29.fake", "expires_in": 3599, "token_type": "Bearer"})
        rsps.add(responses.GET, META_URL, json=_sheet_meta(existing))
        rsps.add(responses.GET, BATCH_GET, json={"spreadsheetId": KEY, "valueRanges": [
            {"range": f"'{t}'!A1:Z1", "majorDimension": "ROWS", "values": v} for t, v in header_rows.items()]})
        rsps.add(responses.POST, BATCH_UPDATE, json={"spreadsheetId": KEY, **replies})
        rsps.add(responses.POST, VALUES_UPDATE, json={"spreadsheetId": KEY, "totalUpdatedCells": 40})
        rsps.add(responses.POST, BATCH_UPDATE, json={"spreadsheetId": KEY, "replies": []})
        from coalition_metrics.template import update_sheet

        changes = update_sheet(KEY, s)
        calls = [c for c in rsps.calls if "allowedLocations" not in c.request.url]

    assert [(c.tab, c.created, c.headers_added) for c in changes][:1] == [
        ("members", False, ["size_tier", "left_on", "role"])]
    assert {c.tab for c in changes if c.created} == {"meetings", "survey", "tasks", "goals", "goal_measurements", "milestones"}
    assert "Attendance" not in {c.tab for c in changes}  # complete already: left alone
    methods = [(c.request.method, c.request.url.split("?")[0]) for c in calls]
    assert methods == [("POST", TOKEN_URL), ("GET", META_URL), ("GET", BATCH_GET), ("POST", BATCH_UPDATE),
                       ("POST", VALUES_UPDATE), ("POST", BATCH_UPDATE)]
    assert "ranges=%27members%27%211%3A1" in calls[2].request.url  # only header rows are read

    structure = json.loads(calls[3].request.body)["requests"]
    assert structure[0] == {"addSheet": {"properties": {"title": "About", "index": 0}}}
    assert all("addSheet" in r for r in structure)  # members has 26 columns: no need to add any
    values = json.loads(calls[4].request.body)
    assert values["valueInputOption"] == "RAW"  # never parsed as formulas
    writes = {d["range"]: d["values"] for d in values["data"]}
    # members: the header ends at E ("Sector"); the three missing headers go to F1:H1, nothing else
    assert writes["'members'!F1"] == [["size_tier", "left_on", "role"]]
    assert not any(r.startswith("'Attendance'") for r in writes)
    assert all(r.endswith("!A1") or r == "'members'!F1" for r in writes)
    assert all(len(v) == 1 for r, v in writes.items() if not r.startswith("'About'"))  # header rows only

    rules = json.loads(calls[5].request.body)["requests"]
    member_rules = [r for r in rules if (r.get("setDataValidation") or r.get("repeatCell"))["range"]["sheetId"] == 11]
    cols = sorted({(r.get("setDataValidation") or r.get("repeatCell"))["range"]["startColumnIndex"] for r in member_rules})
    assert cols == [5, 6, 7]  # the added columns only; A..E (with data) get no rule or format
    for r in member_rules:
        assert (r.get("setDataValidation") or r.get("repeatCell"))["range"]["startRowIndex"] == 1
    tier = next(r["setDataValidation"]["rule"] for r in member_rules
                if "setDataValidation" in r and r["setDataValidation"]["range"]["startColumnIndex"] == 5)
    assert [v["userEnteredValue"] for v in tier["condition"]["values"]] == ["small", "medium", "large"]
    # the new tasks tab (sheetId 103): owner drop-down reads the existing members tab's member_id (column A)
    owner = next(r["setDataValidation"]["rule"] for r in rules if "setDataValidation" in r
                 and r["setDataValidation"]["range"]["sheetId"] == 103 and r["setDataValidation"]["range"]["startColumnIndex"] == 3)
    assert owner["condition"] == {"type": "ONE_OF_RANGE", "values": [{"userEnteredValue": "='members'!$A$2:$A"}]}
    survey_scale = [r for r in rules if "setDataValidation" in r and r["setDataValidation"]["range"]["sheetId"] == 102
                    and r["setDataValidation"]["rule"]["condition"]["type"] == "ONE_OF_LIST"]
    assert len(survey_scale) == 6


def test_template_sheet_on_a_complete_sheet_changes_nothing(settings, credentials_file):
    s = settings.with_overrides(source={"credentials_file": str(credentials_file)})
    from coalition_metrics.template import template_spec, update_sheet

    specs = template_spec(s)
    tabs = {"About": 1, **{spec.title: 10 + i for i, spec in enumerate(specs)}}
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, ALLOWED_LOCATIONS, json=NO_BOUNDARY)
        rsps.add(responses.POST, TOKEN_URL, json={"access_token": "ya29.fake", "expires_in": 3599, "token_type": "Bearer"})
        rsps.add(responses.GET, META_URL, json=_sheet_meta(tabs))
        rsps.add(responses.GET, BATCH_GET, json={"spreadsheetId": KEY, "valueRanges": [
            {"range": f"'{spec.title}'!A1:Z1", "values": [[c.header.upper() for c in spec.columns]]} for spec in specs]})
        assert update_sheet(KEY, s) == []
        posts = [c for c in rsps.calls if c.request.method == "POST" and "token" not in c.request.url]
    assert posts == []  # header case differs, but headers match after case-folding: no write at all


def test_config_text_beginning_with_equals_is_written_as_text_not_a_formula(tmp_path, settings):
    """A coalition name or a survey question from the config that begins with '=' (or '+', '-',
    '@') arrives in the workbook as a string cell, read back with openpyxl, never as a formula."""
    name = '=HYPERLINK("http://evil.example","click")'
    question = "=1+1 how satisfied are you?"
    items = dict(settings.survey_items)
    first = next(iter(items))
    items[first] = question
    s = settings.with_overrides(coalition={"name": name}, survey_items=items)
    path = tmp_path / "hostile.xlsx"
    write_xlsx(path, s)
    wb = openpyxl.load_workbook(path)
    title = wb["About"]["A1"]
    assert title.data_type == "s" and title.value == f"{name}: coalition records"
    header = next(c for c in wb["survey"][1] if c.value == question)
    assert header.data_type == "s"
    formulas = [c.coordinate for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


def test_a_template_written_without_a_config_names_no_example_coalition(tmp_path, settings):
    path = tmp_path / "blank.xlsx"
    write_xlsx(path, settings)  # the embedded defaults: the bundled example's settings
    wb = openpyxl.load_workbook(path)
    texts = [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    assert wb["About"]["A1"].value == "Coalition records"
    assert not [t for t in texts if "riverside" in t.lower()]
    named = tmp_path / "named.xlsx"
    write_xlsx(named, settings.with_overrides(coalition={"name": "Harbor Food Alliance"}))
    assert openpyxl.load_workbook(named)["About"]["A1"].value == "Harbor Food Alliance: coalition records"
