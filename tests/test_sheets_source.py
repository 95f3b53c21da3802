"""The Google Sheets path, offline: only the HTTP layer is faked (responses), so gspread's and
google-auth's own code runs against Sheets API v4 payloads shaped like the real ones."""

import csv
import re
from datetime import date, datetime

import pytest
import responses

from conftest import EXAMPLE_CSV, SERVICE_EMAIL, TOKEN_URL
from coalition_metrics.errors import SourceError

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFG"
SHEET_URL = f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"
META_URL = f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}"
BATCH_URL = f"https://sheets.googleapis.com/v4/spreadsheets/{KEY}/values:batchGet"
# google-auth 2.62 asks this from a background thread; it is not part of an extraction.
ALLOWED_LOCATIONS = re.compile(r"https://iamcredentials\.googleapis\.com/.*allowedLocations.*")
NO_BOUNDARY = {"locations": [], "encodedLocations": "0x0"}
EPOCH = datetime(1899, 12, 30)
TITLES = ["members", "meetings", "attendance", "survey", "tasks", "goals", "goal_measurements", "milestones"]
DATE_COLUMNS = {"joined_on", "left_on", "date", "created_on", "due_on", "completed_on", "baseline_on",
                "target_on", "measured_on"}


def serial(text: str):
    """What UNFORMATTED_VALUE + SERIAL_NUMBER returns for a date cell: days since 1899-12-30."""
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%Y %H:%M:%S"):
        try:
            d = datetime.strptime(text, fmt)
        except ValueError:
            continue
        days = (d - EPOCH).total_seconds() / 86400
        return int(days) if days.is_integer() else days
    return text  # typed as text (e.g. "March 15, 2026"): the API returns the string


def unformatted_values(title: str) -> list[list]:
    """The example tab as the API returns it unformatted: numbers as numbers, dates as serials,
    trailing empty cells dropped (the API trims them)."""
    with (EXAMPLE_CSV / f"{title}.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    out = [header]
    for row in rows[1:]:
        cells = []
        for col, text in zip(header, row):
            if text == "":
                cells.append("")
            elif col in DATE_COLUMNS or col == "Timestamp":
                cells.append(serial(text))
            elif re.fullmatch(r"\d+", text) and col not in ("member_id",):
                cells.append(int(text))
            elif re.fullmatch(r"\d+\.\d+", text):
                cells.append(float(text))
            else:
                cells.append(text)
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    return out


def metadata() -> dict:
    return {
        "spreadsheetId": KEY,
        "properties": {"title": "Riverside coalition records", "locale": "en_US", "timeZone": "America/Los_Angeles"},
        "sheets": [{"properties": {"sheetId": i, "title": t, "index": i, "sheetType": "GRID",
                                   "gridProperties": {"rowCount": 1000, "columnCount": 26}}}
                   for i, t in enumerate(TITLES)],
        "spreadsheetUrl": SHEET_URL,
    }


def batch_answer() -> dict:
    return {"spreadsheetId": KEY, "valueRanges": [
        {"range": f"'{t}'!A1:Z1000", "majorDimension": "ROWS", "values": unformatted_values(t)} for t in TITLES]}


def fake_google(rsps, batch_statuses=(200,)):
    rsps.add(responses.GET, ALLOWED_LOCATIONS, json=NO_BOUNDARY)
    rsps.add(responses.POST, TOKEN_URL, json={"access_token": "ya29.fake", "expires_in": 3599, "token_type": "Bearer"})
    rsps.add(responses.GET, META_URL, json=metadata())
    for status in batch_statuses:
        if status == 200:
            rsps.add(responses.GET, BATCH_URL, json=batch_answer())
        else:
            rsps.add(responses.GET, BATCH_URL, status=status, json={"error": {
                "code": status, "message": "Quota exceeded for quota metric 'Read requests'" if status == 429 else "Internal error",
                "status": "RESOURCE_EXHAUSTED" if status == 429 else "INTERNAL"}})


class FakeGoogle(responses.RequestsMock):
    """responses, kept active until google-auth's background Regional Access Boundary lookup
    (a thread started after the token request) has finished, so it never reaches the network."""

    def __exit__(self, *exc):
        import threading

        for t in threading.enumerate():
            if type(t).__name__ == "_RegionalAccessBoundaryRefreshThread":
                t.join(timeout=10)
        return super().__exit__(*exc)


def api_calls(rsps) -> list:
    return [c for c in rsps.calls if not ALLOWED_LOCATIONS.match(c.request.url)]


def sheet_settings(settings, credentials_file, **source):
    """The read budget is tested in test_sheets_rate_limit.py; here it never makes a test wait."""
    return settings.with_overrides(source={"location": SHEET_URL, "credentials_file": str(credentials_file),
                                           "retry_delays": [0.0, 0.0, 0.0], "sheets_reads_per_minute": 60_000,
                                           **source})


def test_one_extraction_makes_one_values_request_for_all_tabs(settings, credentials_file):
    from coalition_metrics.pipeline import extract

    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        fake_google(rsps)
        tabs = extract(sheet_settings(settings, credentials_file))
        calls = api_calls(rsps)
    urls = [c.request.url.split("?")[0] for c in calls]
    assert urls == [TOKEN_URL, META_URL, BATCH_URL]
    batch = calls[-1].request
    assert batch.url.count("ranges=") == len(TITLES)
    assert "valueRenderOption=UNFORMATTED_VALUE" in batch.url and "dateTimeRenderOption=SERIAL_NUMBER" in batch.url
    assert batch.headers["Authorization"] == "Bearer ya29.fake"
    assert sorted(tabs) == sorted(TITLES)
    members = tabs["members"]
    assert members.header[:3] == ["member_id", "organization", "sector"]
    assert members.rows[0] == (2, ["M01", "Riverside General Hospital", "health care", "large", "45566", "", "convener"])


def test_sheet_run_gives_the_same_metrics_as_the_csv_folder(settings, credentials_file, example_run):
    """Serial-number dates from the API and M/D/YYYY text in the CSVs give identical funder files."""
    from coalition_metrics.pipeline import run_quarterly

    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        fake_google(rsps)
        result = run_quarterly(sheet_settings(settings, credentials_file), quarter="2026-Q3", write_back=False)
    assert (result.folder / "funder_metrics.json").read_bytes() == (example_run.folder / "funder_metrics.json").read_bytes()
    assert result.manifest["quarantined_counts"] == example_run.manifest["quarantined_counts"]


def test_429_then_success_is_retried(settings, credentials_file):
    from coalition_metrics.pipeline import extract

    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        fake_google(rsps, batch_statuses=(429, 200))
        tabs = extract(sheet_settings(settings, credentials_file))
        batch_calls = [c for c in api_calls(rsps) if c.request.url.startswith(BATCH_URL)]
    assert [c.response.status_code for c in batch_calls] == [429, 200]
    assert len(tabs["attendance"].rows) == len(unformatted_values("attendance")) - 1


def test_persistent_5xx_fails_with_a_clear_error(settings, credentials_file):
    from coalition_metrics.pipeline import extract

    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        fake_google(rsps, batch_statuses=(503, 503, 503, 503))
        with pytest.raises(SourceError, match=r"HTTP 503 .* after 4 attempts"):
            extract(sheet_settings(settings, credentials_file))
        assert len([c for c in api_calls(rsps) if c.request.url.startswith(BATCH_URL)]) == 4


def test_sheet_not_shared_names_the_service_account(settings, credentials_file):
    from coalition_metrics.pipeline import extract

    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, ALLOWED_LOCATIONS, json=NO_BOUNDARY)
        rsps.add(responses.POST, TOKEN_URL, json={"access_token": "ya29.fake", "expires_in": 3599})
        rsps.add(responses.GET, META_URL, status=403, json={"error": {
            "code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}})
        with pytest.raises(SourceError) as err:
            extract(sheet_settings(settings, credentials_file))
    message = str(err.value)
    assert SERVICE_EMAIL in message and "Share" in message and "\n" not in message


def test_missing_credentials_file_says_where_to_put_it(settings, tmp_path):
    from coalition_metrics.pipeline import extract

    missing = tmp_path / "nowhere" / "key.json"
    with pytest.raises(SourceError, match=re.escape(str(missing)) + ".*does not exist.*GOOGLE_APPLICATION_CREDENTIALS"):
        extract(settings.with_overrides(source={"location": SHEET_URL, "credentials_file": str(missing)}))


def test_formatted_values_read_the_same_dates(settings, credentials_file):
    """value_render = "formatted": the API returns what the sheet shows (US locale M/D/YYYY)."""
    from coalition_metrics.pipeline import extract

    def formatted(title):
        with (EXAMPLE_CSV / f"{title}.csv").open(newline="", encoding="utf-8") as fh:
            return list(csv.reader(fh))

    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, ALLOWED_LOCATIONS, json=NO_BOUNDARY)
        rsps.add(responses.POST, TOKEN_URL, json={"access_token": "ya29.fake", "expires_in": 3599})
        rsps.add(responses.GET, META_URL, json=metadata())
        rsps.add(responses.GET, BATCH_URL, json={"spreadsheetId": KEY, "valueRanges": [
            {"range": f"'{t}'!A1:Z1000", "majorDimension": "ROWS", "values": formatted(t)} for t in TITLES]})
        tabs = extract(sheet_settings(settings, credentials_file, value_render="formatted"))
        assert "valueRenderOption=FORMATTED_VALUE" in api_calls(rsps)[-1].request.url
    from coalition_metrics.dates import parse_date
    assert parse_date(tabs["tasks"].rows[0][1][5]) == date(2024, 10, 1)


def _signed_in(rsps):
    rsps.add(responses.GET, ALLOWED_LOCATIONS, json=NO_BOUNDARY)
    rsps.add(responses.POST, TOKEN_URL, json={"access_token": "ya29.fake", "expires_in": 3599, "token_type": "Bearer"})


@pytest.mark.parametrize("answer, said", [
    ({"body": "<html>proxy error</html>", "content_type": "text/html"}, "JSONDecodeError"),
    ({"json": {"spreadsheetId": KEY}}, "0 value ranges for the 8 tabs asked for"),
    ({"json": {"valueRanges": [{"values": [["a"]]}]}}, "1 value ranges for the 8 tabs asked for"),
    ({"json": {"valueRanges": [{"values": "not rows"}] * 8}}, "8 value ranges for the 8 tabs asked for"),
    ({"json": ["not", "an", "answer"]}, "value ranges for the 8 tabs"),
])
def test_an_answer_that_is_not_the_sheets_api_s_is_never_read_as_the_sheet(settings, credentials_file, answer, said):
    """A body that is not JSON, or not the batchGet's shape (a proxy, an outage): a clear error naming
    the spreadsheet, not a crash and not a storage problem."""
    from coalition_metrics.errors import TransientSourceError
    from coalition_metrics.pipeline import extract

    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        _signed_in(rsps)
        rsps.add(responses.GET, META_URL, json=metadata())
        rsps.add(responses.GET, BATCH_URL, **answer)
        with pytest.raises(TransientSourceError) as err:
            extract(sheet_settings(settings, credentials_file))
    message = str(err.value)
    assert f"answer for spreadsheet {KEY} could not be read" in message and said in message, message
    assert "disk" not in message and "\n" not in message


def test_an_answer_cut_off_mid_body_is_retried(settings, credentials_file):
    import requests

    from coalition_metrics.pipeline import extract

    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        _signed_in(rsps)
        rsps.add(responses.GET, META_URL, json=metadata())
        rsps.add(responses.GET, BATCH_URL, body=requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"))
        rsps.add(responses.GET, BATCH_URL, json=batch_answer())
        tabs = extract(sheet_settings(settings, credentials_file))
    assert len(tabs["attendance"].rows) == len(unformatted_values("attendance")) - 1


def test_a_refusal_other_than_sharing_gives_google_s_reason(settings, credentials_file):
    from coalition_metrics.pipeline import extract

    disabled = ("Google Sheets API has not been used in project 123 before or it is disabled. Enable it by "
                "visiting https://console.developers.google.com/apis/api/sheets.googleapis.com/overview?project=123")
    with FakeGoogle(assert_all_requests_are_fired=False) as rsps:
        _signed_in(rsps)
        rsps.add(responses.GET, META_URL, status=403, json={"error": {
            "code": 403, "message": disabled, "status": "PERMISSION_DENIED"}})
        with pytest.raises(SourceError) as err:
            extract(sheet_settings(settings, credentials_file))
    message = str(err.value)
    assert "has not been used in project 123" in message and "Enable the Google Sheets API" in message
    assert "is not shared" not in message and SERVICE_EMAIL in message


def test_retry_after_is_waited_for(settings, credentials_file, monkeypatch):
    from coalition_metrics.pipeline import extract

    waits = []
    monkeypatch.setattr("coalition_metrics.sources.sheets.time.sleep", waits.append)
    with FakeGoogle(assert_all_requests_are_fired=True) as rsps:
        _signed_in(rsps)
        rsps.add(responses.GET, META_URL, json=metadata())
        rsps.add(responses.GET, BATCH_URL, status=429, headers={"Retry-After": "7"}, json={"error": {
            "code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}})
        rsps.add(responses.GET, BATCH_URL, status=429, headers={"Retry-After": "86400"}, json={"error": {
            "code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}})
        rsps.add(responses.GET, BATCH_URL, json=batch_answer())
        extract(sheet_settings(settings, credentials_file, retry_delays=[0.5, 1.0]))
    assert waits == [7.0, 300.0]  # Google's ask over the configured 0.5 s; a day's ask capped at 5 minutes


def test_a_folder_given_as_the_credentials_file_is_named_a_folder(settings, tmp_path):
    from coalition_metrics.pipeline import extract

    with pytest.raises(SourceError, match=re.escape(str(tmp_path)) + " is a folder, not a key file"):
        extract(settings.with_overrides(source={"location": SHEET_URL, "credentials_file": str(tmp_path)}))
