"""funder_metrics.csv / .json: labels, types, completeness header, neutralized cells."""

import csv
import json

import pytest


def test_csv_types_and_labels(example_run):
    with (example_run.folder / "funder_metrics.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["metric_id", "label", "quarter", "value", "unit", "n", "suppressed"]
    by_key = {(r["metric_id"], r["quarter"]): r for r in rows}
    assert by_key[("meetings_held[weekly_call]", "2026-Q3")] == {
        "metric_id": "meetings_held[weekly_call]", "label": "Meetings held: weekly calls", "quarter": "2026-Q3",
        "value": "13", "unit": "count", "n": "13", "suppressed": "false"}
    assert by_key[("attendance_rate[monthly_call]", "2026-Q3")]["label"] == "Attendance rate: monthly calls"
    assert by_key[("attendance_rate", "2026-Q3")]["value"] == "0.6463"  # 95 / 147
    assert by_key[("single_champion_risk[facilitation]", "2026-Q3")]["value"] in ("true", "false")
    assert by_key[("on_track[G1]", "2026-Q3")]["label"] == (
        "Goal on track: Increase the share of children aged 3-17 with an annual well-child visit")
    assert by_key[("item_mean[voice_heard]", "2026-Q3")]["label"] == (
        "Item mean: My organization's voice is heard in coalition decisions.")
    assert by_key[("milestones[quick_win]", "2026-Q3")]["label"] == "Milestones: quick wins"
    for r in rows:
        if r["unit"] == "count" and r["value"]:
            assert r["value"].isdigit(), r  # 19, never 19.0
        if r["unit"] == "flag" and r["value"]:
            assert r["value"] in ("true", "false"), r
        if r["unit"] in ("share", "score", "index", "difference") and r["value"]:
            assert len(r["value"].split(".")[-1]) <= 4, r
        assert r["suppressed"] in ("true", "false") and (r["n"] == "" or r["n"].isdigit())
        if r["suppressed"] == "true":
            assert r["value"] == ""
        assert r["label"] and "[" not in r["label"]


def test_json_types_and_completeness_match_the_csv(example_run):
    doc = json.loads((example_run.folder / "funder_metrics.json").read_text())
    assert list(doc) == ["coalition", "quarter", "completeness", "columns", "metrics"]
    assert doc["completeness"]["rows_set_aside"] == 5 and doc["completeness"]["rows_set_aside_to_fix"] == 4
    assert doc["completeness"]["tabs"]["survey"] == {"rows_accepted": 64, "rows_set_aside": 2,
                                                     "rows_set_aside_to_fix": 1, "rows_set_aside_other": 1}
    row = next(r for r in doc["metrics"] if r["metric_id"] == "meetings_held" and r["quarter"] == "2026-Q3")
    assert row["value"] == 20 and isinstance(row["value"], int) and row["n"] == 20
    flag = next(r for r in doc["metrics"] if r["metric_id"] == "on_track[G1]" and r["quarter"] == "2026-Q3")
    assert flag["value"] is True
    assert all(list(r) == doc["columns"] for r in doc["metrics"])
    with (example_run.folder / "funder_metrics.csv").open(newline="", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == len(doc["metrics"])


def test_csv_cells_are_neutralized_and_labels_refuse_members():
    from coalition_metrics.funder import funder_csv, metric_label
    from coalition_metrics.registry import metric

    text = funder_csv([{"metric_id": "x", "label": "=SUM(A1)", "quarter": "2026-Q3", "value": -0.25,
                        "unit": "difference", "n": 5, "suppressed": False}])
    assert text.splitlines()[1] == "x,'=SUM(A1),2026-Q3,-0.25,difference,5,false"
    with pytest.raises(ValueError, match="member-level"):
        metric_label(metric("member_attendance_rate"), "M01", {})

