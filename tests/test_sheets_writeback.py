"""Write-back of the funder table to the Google Sheet, offline: only the HTTP layer is faked
(responses), so gspread's and google-auth's own code runs against Sheets API v4 payloads."""

import csv
import json
import re

import pytest
import responses

from conftest import EXAMPLE_CSV, SERVICE_EMAIL, TOKEN_URL
from test_sheets_source import (ALLOWED_LOCATIONS, BATCH_URL, KEY, META_URL, NO_BOUNDARY, SHEET_URL, TITLES,
                                FakeGoogle, metadata, unformatted_values)

UPDATE_URL = f"{META_URL}:batchUpdate"
TAB = "Funder metrics"


def answer(goal_statement=None) -> dict:
    ranges = []
    for t in TITLES:
        values = unformatted_values(t)
        if t == "goals" and goal_statement is not None:
            values[1][1] = goal_statement  # G1's statement
        ranges.append({"range": f"'{t}'!A1:Z1000", "majorDimension": "ROWS", "values": values})
    return {"spreadsheetId": KEY, "valueRanges": ranges}


def metadata_with_tab(rows=5000) -> dict:
    meta = metadata()
    meta["sheets"].append({"properties": {"sheetId": 777, "title": TAB, "index": 8, "sheetType": "GRID",
                                          "gridProperties": {"rowCount": rows, "columnCount": 12, "frozenRowCount": 1}}})
    return meta


def fake_sheet(rsps, *, goal_statement=None, write_status=(200,), tab_exists=False):
    """Reads (token, metadata, values:batchGet) answer like the API; the write-back's metadata
    read and its batchUpdate answer with ``write_status`` in turn."""
    rsps.add(responses.GET, ALLOWED_LOCATIONS, json=NO_BOUNDARY)
    rsps.add(responses.POST, TOKEN_URL, json={"access_token": "ya29.fake", "expires_in": 3599, "token_type": "Bearer"})
    rsps.add(responses.GET, META_URL, json=metadata())
    rsps.add(responses.GET, META_URL, json=metadata_with_tab() if tab_exists else metadata())
    rsps.add(responses.GET, BATCH_URL, json=answer(goal_statement))
    for status in write_status:
        if status == 200:
            rsps.add(responses.POST, UPDATE_URL, json={"spreadsheetId": KEY, "replies": [{}]})
        elif status == 403:
            rsps.add(responses.POST, UPDATE_URL, status=403, json={"error": {
                "code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}})
        else:
            rsps.add(responses.POST, UPDATE_URL, status=status, json={"error": {
                "code": status, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}})


def writes(rsps) -> list:
    """Requests that change the spreadsheet (anything but GET to the Sheets API)."""
    return [c for c in rsps.calls if c.request.url.startswith("https://sheets.googleapis.com/")
            and c.request.method != "GET"]


def written_cells(call) -> list[list]:
    """The values of the batchUpdate's updateCells rows, as (kind, value) per cell."""
    body = json.loads(call.request.body)
    update = [r["updateCells"] for r in body["requests"] if "updateCells" in r and "rows" in r["updateCells"]]
    assert len(update) == 1
    return [[next(iter(c["userEnteredValue"].items())) if "userEnteredValue" in c else None for c in row["values"]]
            for row in update[0]["rows"]]


def config_file(tmp_path, credentials_file, **extra) -> str:
    lines = ["[source]", f'location = "{SHEET_URL}"', f'credentials_file = "{credentials_file}"',
             "retry_delays = [0.0, 0.0]", "", "[output]", f'folder = "{tmp_path / "out"}"', "pdf = false"]
    for section, body in extra.items():
        lines += ["", f"[{section}]", body]
    path = tmp_path / "coalition.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def run_cli(args, capsys):
    from coalition_metrics.cli import main

    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def runs_of(config):
    from coalition_metrics.config import load_settings
    from coalition_metrics.runs import list_runs

    settings = load_settings(config)
    return list_runs(settings.output_folder, settings)


def published_folders(tmp_path):
    return sorted(p for p in (tmp_path / "out" / "2026-Q3").iterdir() if p.is_dir() and not p.name.startswith("."))


# ----------------------------------------------------------------------------------------------
def test_new_tab_is_added_and_written_in_one_request_with_raw_values(tmp_path, credentials_file, capsys):
    hyperlink = '=HYPERLINK("http://evil.example","Goal")'
    config = config_file(tmp_path, credentials_file, coalition='name = "=SUM(A1)"')
    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        fake_sheet(rsps, goal_statement=hyperlink)
        code, out, err = run_cli(["run", "--no-prefect", "--quarter", "2026-Q3", "--config", config], capsys)
        sent = writes(rsps)
    assert code == 0, err
    assert len(sent) == 1 and sent[0].request.url == UPDATE_URL
    body = json.loads(sent[0].request.body)
    kinds = [next(iter(r)) for r in body["requests"]]
    assert kinds == ["addSheet", "updateCells"]
    add = body["requests"][0]["addSheet"]["properties"]
    assert add["title"] == TAB
    cells = written_cells(sent[0])
    assert add["gridProperties"]["rowCount"] == len(cells) and add["gridProperties"]["columnCount"] == 7
    (folder,) = published_folders(tmp_path)
    run_id = folder.name
    assert cells[0] == [("stringValue", "Coalition"), ("stringValue", "=SUM(A1)")]  # text, not a formula
    assert cells[1] == [("stringValue", "Quarter"), ("stringValue", "2026-Q3")]
    assert cells[3] == [("stringValue", "Run id"), ("stringValue", run_id)]
    assert cells[4][0] == ("stringValue", "Published") and re.fullmatch(r"2\d{3}-\d\d-\d\dT.*", cells[4][1][1])
    header_at = cells.index([("stringValue", c) for c in
                             ("metric_id", "label", "quarter", "value", "unit", "n", "suppressed")])
    table = cells[header_at + 1:]
    # The same table as funder_metrics.csv, typed: numbers as numbers, flags/suppressed as booleans.
    with (folder / "funder_metrics.csv").open(newline="", encoding="utf-8") as fh:
        csv_rows = list(csv.reader(fh))[1:]
    assert len(table) == len(csv_rows)
    by_key = {(r[0][1], r[2][1]): r for r in table}
    held = by_key[("meetings_held[weekly_call]", "2026-Q3")]
    assert held == [("stringValue", "meetings_held[weekly_call]"), ("stringValue", "Meetings held: weekly calls"),
                    ("stringValue", "2026-Q3"), ("numberValue", 13), ("stringValue", "count"), ("numberValue", 13),
                    ("boolValue", False)]
    rate = by_key[("attendance_rate", "2026-Q3")]
    assert rate[3] == ("numberValue", 0.6463) and rate[5] == ("numberValue", 147)
    small = by_key[("satisfaction_mean", "2025-Q1")]
    assert small[3] is None and small[6] == ("boolValue", True)  # suppressed: an empty cell
    goal = by_key[("goal_progress[G1]", "2026-Q3")]
    assert goal[1] == ("stringValue", f"Goal progress: {hyperlink}")
    every = [c for row in cells for c in row if c is not None]
    assert {kind for kind, _ in every} <= {"stringValue", "numberValue", "boolValue"}  # never formulaValue
    body_text = sent[0].request.body
    assert "formulaValue" not in (body_text.decode() if isinstance(body_text, bytes) else body_text)
    # The CSV keeps the same text neutralized for a spreadsheet opening it.
    csv_goal = next(r for r in csv_rows if r[0] == "goal_progress[G1]" and r[2] == "2026-Q3")
    assert csv_goal[1] == "Goal progress: " + hyperlink  # does not start with '=': the label starts with text
    (run,) = runs_of(config)
    assert run["status"] == "succeeded" and run["write_back"] == "written"
    assert "sheet" in out or "funder metrics" in out


def test_existing_tab_is_resized_cleared_and_written_in_one_request(tmp_path, credentials_file, capsys):
    config = config_file(tmp_path, credentials_file)
    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        fake_sheet(rsps, tab_exists=True)
        code, _, err = run_cli(["run", "--no-prefect", "--quarter", "2026-Q3", "--config", config], capsys)
        sent = writes(rsps)
    assert code == 0, err
    assert len(sent) == 1
    requests = json.loads(sent[0].request.body)["requests"]
    assert [next(iter(r)) for r in requests] == ["updateSheetProperties", "updateCells", "updateCells"]
    resize, clear, write = requests
    n_rows = len(write["updateCells"]["rows"])
    # The old 5000-row grid shrinks to the table: no row of a longer earlier table survives.
    assert resize["updateSheetProperties"]["properties"] == {
        "sheetId": 777, "gridProperties": {"rowCount": n_rows, "columnCount": 7, "frozenRowCount": 0,
                                           "frozenColumnCount": 0}}
    assert clear["updateCells"] == {"range": {"sheetId": 777}, "fields": "*"}
    assert write["updateCells"]["start"] == {"sheetId": 777, "rowIndex": 0, "columnIndex": 0}


def test_viewer_only_sheet_publishes_the_run_and_says_share_as_editor(tmp_path, credentials_file, private_key_pem,
                                                                      capsys):
    config = config_file(tmp_path, credentials_file)
    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        fake_sheet(rsps, write_status=(403,))
        code, out, err = run_cli(["run", "--no-prefect", "--quarter", "2026-Q3", "--config", config], capsys)
        assert len(writes(rsps)) == 1  # a 403 is not retried
    assert code == 3
    message = err.strip()
    assert message.startswith("error: Run ") and "\n" not in message
    assert SERVICE_EMAIL in message and "Editor" in message and "Share" in message
    assert "is published" in message and "coalition publish-sheet" in message
    assert str(credentials_file) not in err + out and "PRIVATE KEY" not in err + out
    (folder,) = published_folders(tmp_path)
    assert (folder / "funder_metrics.csv").is_file() and (folder / "report.html").is_file()
    assert f"funder metrics: {folder / 'funder_metrics.csv'}" in out
    (run,) = runs_of(config)
    assert run["status"] == "succeeded" and run["write_back"] == "failed"
    assert SERVICE_EMAIL in run["write_back_message"]
    code, listing, _ = run_cli(["runs", "--config", config], capsys)
    assert code == 0 and "failed" in listing and "write-back to the Google Sheet failed" in listing


def test_sheets_5xx_during_write_back_leaves_the_run_published_and_recorded_failed(tmp_path, credentials_file,
                                                                                   capsys):
    config = config_file(tmp_path, credentials_file)
    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        fake_sheet(rsps, write_status=(503, 503, 503))
        code, out, err = run_cli(["refresh", "--no-prefect", "--as-of", "2026-09-30", "--config", config], capsys)
        assert [c.response.status_code for c in writes(rsps)] == [503, 503, 503]  # retried, then given up
    assert code == 3
    assert "HTTP 503 after 3 attempts" in err and "is published" in err
    (folder,) = [p for p in (tmp_path / "out" / "refresh" / "2026-Q3").iterdir() if p.is_dir()]
    assert (folder / "funder_metrics.json").is_file()
    (run,) = runs_of(config)
    assert run["status"] == "succeeded" and run["write_back"] == "failed" and run["flow"] == "refresh-funder-metrics"


def test_no_write_back_then_publish_sheet_writes_the_earlier_run(tmp_path, credentials_file, capsys):
    config = config_file(tmp_path, credentials_file)
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        fake_sheet(rsps)
        code, _, err = run_cli(["run", "--no-prefect", "--quarter", "2026-Q3", "--config", config,
                                "--no-write-back"], capsys)
        assert code == 0, err
        assert writes(rsps) == []  # --no-write-back: zero write requests
    (run,) = runs_of(config)
    assert run["write_back"] == "off"
    (folder,) = published_folders(tmp_path)
    # Later (e.g. once the sheet is shared as Editor): from the run folder, not a recomputation.
    (folder / "funder_metrics.json").write_text(
        (folder / "funder_metrics.json").read_text().replace('"coalition": "Riverside', '"coalition": "Kept Riverside'))
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, ALLOWED_LOCATIONS, json=NO_BOUNDARY)
        rsps.add(responses.POST, TOKEN_URL, json={"access_token": "ya29.fake", "expires_in": 3599})
        rsps.add(responses.GET, META_URL, json=metadata_with_tab())
        rsps.add(responses.POST, UPDATE_URL, json={"spreadsheetId": KEY, "replies": [{}, {}, {}]})
        code, out, err = run_cli(["publish-sheet", folder.name, "--config", config], capsys)
        sent = writes(rsps)
        assert not any(c.request.url.startswith(BATCH_URL) for c in rsps.calls)  # nothing read, nothing recomputed
    assert code == 0, err
    assert len(sent) == 1
    cells = written_cells(sent[0])
    assert cells[0][1] == ("stringValue", "Kept Riverside Health Equity Coalition")
    assert cells[3][1] == ("stringValue", folder.name)
    (run,) = runs_of(config)
    assert run["write_back"] == "written" and "Funder metrics" in out


def test_publish_sheet_of_an_unknown_run_is_a_clear_error(tmp_path, credentials_file, capsys):
    config = config_file(tmp_path, credentials_file)
    code, _, err = run_cli(["publish-sheet", "20260101T000000000Z-abcd", "--config", config], capsys)
    assert code == 2 and "No published run 20260101T000000000Z-abcd" in err
    code, _, err = run_cli(["publish-sheet", "../etc", "--config", config], capsys)
    assert code == 2 and "run id" in err


def test_csv_source_makes_no_write_back(settings):
    from coalition_metrics.pipeline import run_quarterly
    from coalition_metrics.runs import list_runs

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        run_quarterly(settings, quarter="2026-Q3")
        assert len(rsps.calls) == 0
    (run,) = list_runs(settings.output_folder, settings)
    assert run["write_back"] is None


def test_write_back_tab_must_not_be_a_data_tab():
    from coalition_metrics.config import load_settings
    from coalition_metrics.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[write_back\] tab 'Members' is the title of the members tab"):
        load_settings(None, environ={"COALITION_WRITE_BACK_TAB": "Members"})
    assert load_settings(None, environ={}).data["write_back"] == {"enabled": True, "tab": "Funder metrics"}


# ----------------------------------------------------------------------------------------------
def test_no_member_or_quarantined_value_reaches_funder_outputs(tmp_path, credentials_file, capsys):
    """Audience separation: funder_metrics.csv/json and the sheet tab carry aggregates only."""
    config = config_file(tmp_path, credentials_file)
    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        fake_sheet(rsps)
        code, _, err = run_cli(["run", "--no-prefect", "--quarter", "2026-Q3", "--config", config], capsys)
        sent = writes(rsps)
    assert code == 0, err
    (folder,) = published_folders(tmp_path)
    sheet_text = [str(v) for row in written_cells(sent[0]) for c in row if c is not None for v in [c[1]]]
    outputs = {"funder_metrics.csv": (folder / "funder_metrics.csv").read_text(),
               "funder_metrics.json": (folder / "funder_metrics.json").read_text(),
               "sheet tab": "\n".join(sheet_text)}

    with (EXAMPLE_CSV / "members.csv").open(newline="", encoding="utf-8") as fh:
        members = list(csv.DictReader(fh))
    with (EXAMPLE_CSV / "survey.csv").open(newline="", encoding="utf-8") as fh:
        responses_ = list(csv.DictReader(fh))
    quarantined = json.loads((folder / "validation" / "quarantine.json").read_text())
    # Raw values set aside that are text (bare numbers and blanks can be aggregate figures too):
    # M11, T017, 'March 15, 2026', 'Riverside Chamber of Commerce' in the example.
    raw = {q["value"] for q in quarantined if re.search(r"[A-Za-z]", q["value"] or "")}
    assert {"M11", "T017", "March 15, 2026"} <= raw
    forbidden = {m["organization"] for m in members} | {r["Organization"] for r in responses_ if r["Organization"]}
    forbidden |= {r["Timestamp"] for r in responses_}  # one member's submission
    forbidden |= {v for v in raw if not re.fullmatch(r"[A-Za-z0-9_]+", v)}
    ids = {m["member_id"] for m in members} | {v for v in raw if re.fullmatch(r"[A-Za-z0-9_]+", v)}
    for name, text in outputs.items():
        leaks = sorted(v for v in forbidden if v and v in text)
        assert leaks == [], (name, leaks)
        tokens = set(re.findall(r"[A-Za-z0-9_]+", text))
        assert not (tokens & ids), (name, sorted(tokens & ids))
    # Member-level figures (member_attendance_rate[M..]) stay in coordinator outputs.
    doc = json.loads(outputs["funder_metrics.json"])
    assert not any(r["metric_id"].startswith("member_") for r in doc["metrics"])


def test_a_cell_over_the_sheets_limit_is_a_clear_error_before_any_write(tmp_path, credentials_file, capsys):
    """A goal statement of 50,000 characters (a full sheet cell) gets 'Goal progress: ' in front of it
    in its label: over the Sheets per-cell limit. The write-back names the row and column and what to
    shorten, sends nothing (no 400 from Sheets that names no cell), and the run stays published."""
    statement = "Reduce asthma visits " + "x" * (50_000 - 21)
    config = config_file(tmp_path, credentials_file)
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        fake_sheet(rsps, goal_statement=statement)
        code, out, err = run_cli(["run", "--no-prefect", "--quarter", "2026-Q3", "--config", config], capsys)
        assert writes(rsps) == []
    assert code == 3, err
    message = err.strip()
    assert "\n" not in message and "is published" in message and "coalition publish-sheet" in message
    assert "column 'label'" in message and "50,000" in message and "goal statement" in message
    assert "starting 'Goal progress: Reduce asthma visits" in message
    (folder,) = published_folders(tmp_path)
    assert statement in (folder / "funder_metrics.csv").read_text(encoding="utf-8")  # the files keep it whole
    (run,) = runs_of(config)
    assert run["status"] == "succeeded" and run["write_back"] == "failed"
