from datetime import date, datetime

import pytest

from coalition_metrics.dates import DateParseError, parse_date, parse_timestamp
from coalition_metrics.quarters import Quarter, last_completed, quarters_between


@pytest.mark.parametrize(
    "text, fmt, expected",
    [
        ("2026-07-01", "M/D/YYYY", date(2026, 7, 1)),
        (" 2026-07-01 ", "M/D/YYYY", date(2026, 7, 1)),
        ("7/1/2026", "M/D/YYYY", date(2026, 7, 1)),
        ("1/7/2026", "D/M/YYYY", date(2026, 7, 1)),
        ("12/31/2026", "M/D/YYYY", date(2026, 12, 31)),
        ("46204", "M/D/YYYY", date(2026, 7, 1)),  # Sheets serial: days since 1899-12-30
        ("45658", "M/D/YYYY", date(2025, 1, 1)),
        ("2026-07-01 14:03:22", "M/D/YYYY", date(2026, 7, 1)),
    ],
)
def test_parse_date_accepts_iso_serial_and_locale(text, fmt, expected):
    assert parse_date(text, fmt) == expected


@pytest.mark.parametrize("text", ["March 15, 2026", "31/12/2026", "2026-13-01", "12", "", "n/a"])
def test_parse_date_rejects_other_forms(text):
    with pytest.raises(DateParseError):
        parse_date(text)


def test_parse_timestamp_keeps_time_from_forms_and_serials():
    assert parse_timestamp("9/14/2026 9:05:07") == datetime(2026, 9, 14, 9, 5, 7)
    assert parse_timestamp("46204.5") == datetime(2026, 7, 1, 12, 0, 0)


@pytest.mark.parametrize(
    "day, fs, label, start, end",
    [
        (date(2026, 8, 15), 1, "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 1, 1), 1, "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 8, 15), 7, "FY2027-Q1", date(2026, 7, 1), date(2026, 9, 30)),
        (date(2027, 6, 30), 7, "FY2027-Q4", date(2027, 4, 1), date(2027, 6, 30)),
        (date(2026, 11, 2), 10, "FY2027-Q1", date(2026, 10, 1), date(2026, 12, 31)),
        (date(2026, 2, 28), 2, "FY2027-Q1", date(2026, 2, 1), date(2026, 4, 30)),
    ],
)
def test_quarter_labels_and_bounds(day, fs, label, start, end):
    q = Quarter.of(day, fs)
    assert (q.label, q.start, q.end) == (label, start, end)
    assert Quarter.parse(label, fs) == q


def test_last_completed_and_ranges():
    assert last_completed(date(2026, 11, 24)).label == "2026-Q3"
    assert last_completed(date(2026, 1, 5)).label == "2025-Q4"
    assert last_completed(date(2026, 11, 24), 7).label == "FY2027-Q1"
    labels = [q.label for q in quarters_between(Quarter(2024, 4), Quarter(2025, 2))]
    assert labels == ["2024-Q4", "2025-Q1", "2025-Q2"]


def test_quarter_parse_names_the_expected_form():
    with pytest.raises(ValueError, match="FY2027-Q1"):
        Quarter.parse("2027-Q1", 7)
    with pytest.raises(ValueError, match="2026-Q3"):
        Quarter.parse("Q3 2026")
