"""Snapshots, replay, determinism and the run folder layout."""

import json
import os

import pytest

from conftest import EXAMPLE_XLSX
from coalition_metrics.errors import SnapshotError
from coalition_metrics.pipeline import run_quarterly
from coalition_metrics.snapshot import load_snapshot


def test_replaying_a_snapshot_gives_byte_identical_funder_files(settings, example_run_copy):
    first = example_run_copy
    again = run_quarterly(settings, quarter="2026-Q3", from_snapshot=first.run_id)
    assert again.folder != first.folder  # a new run folder, the first is untouched
    for name in ("funder_metrics.json", "funder_metrics.csv"):
        assert (again.folder / name).read_bytes() == (first.folder / name).read_bytes()
    assert again.manifest["snapshot"] == first.manifest["snapshot"]
    assert (first.folder.parent / "LATEST").read_text().strip() == again.run_id


def test_replay_works_without_the_source(settings, example_run_copy, example_copy):
    s = settings.with_overrides(source={"location": str(example_copy)})
    first = example_run_copy
    for f in example_copy.iterdir():
        f.unlink()
    example_copy.rmdir()
    replayed = run_quarterly(s, quarter="2026-Q3", from_snapshot=first.manifest["snapshot"]["id"][:12])
    assert (replayed.folder / "funder_metrics.json").read_bytes() == (first.folder / "funder_metrics.json").read_bytes()


def test_snapshot_is_content_hashed_read_only_and_checked(settings, example_run_copy):
    result = example_run_copy
    snap_dir = settings.output_folder / "snapshots" / result.manifest["snapshot"]["id"]
    members = snap_dir / "members.json"
    assert not os.access(members, os.W_OK) or os.geteuid() == 0
    assert oct(members.stat().st_mode & 0o777) == "0o444"
    doc = json.loads(members.read_text())
    assert doc["rows"][0] == [2, ["M01", "Riverside General Hospital", "health care", "large", "2024-10-01", "", "convener"]]
    os.chmod(members, 0o644)
    members.write_text(members.read_text().replace("M01", "M99", 1))
    with pytest.raises(SnapshotError, match="members.json was altered"):
        load_snapshot(snap_dir.name, settings.output_folder / "snapshots")


def test_xlsx_workbook_gives_the_same_metrics_as_csv(settings, example_run):
    result = run_quarterly(settings.with_overrides(source={"location": str(EXAMPLE_XLSX)}), quarter="2026-Q3")
    assert (result.folder / "funder_metrics.json").read_bytes() == (example_run.folder / "funder_metrics.json").read_bytes()
    assert result.manifest["row_counts"] == example_run.manifest["row_counts"]


def test_manifest_and_outputs(example_run):
    m = example_run.manifest
    assert m["quarter"] == "2026-Q3" and m["run_id"] == example_run.run_id
    assert len(m["config_hash"]) == 64 and len(m["snapshot"]["id"]) == 64
    assert set(m["snapshot"]["tabs"]) == {"members", "meetings", "attendance", "survey", "tasks", "goals",
                                          "goal_measurements", "milestones"}
    # The planted defects: unknown member id, duplicate task id, a date typed another way, a Likert 6,
    # and one superseded survey submission.
    assert m["quarantined_counts"] == {"members": 0, "meetings": 0, "goals": 0, "attendance": 1, "tasks": 2,
                                       "goal_measurements": 0, "survey": 2, "milestones": 0}
    assert m["row_counts"]["attendance"]["rows_blank"] == 1
    for tab, c in m["row_counts"].items():
        assert c["rows_accepted"] + c["rows_quarantined"] + c["rows_blank"] == c["rows_read"], tab
    funder = json.loads((example_run.folder / "funder_metrics.json").read_text())
    assert "run_id" not in json.dumps(funder) and example_run.run_id not in json.dumps(funder)
    assert funder["columns"] == ["metric_id", "label", "quarter", "value", "unit", "n", "suppressed"]
    # The quarter's completeness: the same planted defects, 5 rows set aside (superseded: not to fix).
    c = funder["completeness"]
    assert c["rows_set_aside"] == 5 == sum(m["quarantined_counts"].values())
    assert c["tabs"]["survey"]["rows_set_aside"] == 2 and c["rows_set_aside_to_fix"] + c["rows_set_aside_other"] == 5
    assert c["rows_accepted"] == sum(t["rows_accepted"] for t in m["row_counts"].values())
    quarters = sorted({r["quarter"] for r in funder["metrics"]})
    assert quarters[0] == "2024-Q4" and quarters[-1] == "2026-Q3" and len(quarters) == 8


def test_report_counts_the_quarantined_rows(example_run):
    """The report counts the rows set aside (right under its title and in its data-quality summary);
    the rows themselves are listed on the data-quality page it links to."""
    html = (example_run.folder / "report.html").read_text()
    assert "Figures exclude 5 rows set aside (4 to fix, 1 kept for information);" in html
    assert "5 rows set aside (quarantined) and not in any figure of this report" in html
    assert '<a href="validation/index.html">' in html
    quality = (example_run.folder / "validation" / "index.html").read_text()
    for needle in ("M11", "T017", "March 15, 2026", "answer &#39;6&#39; is outside the item&#39;s scale", "superseded"):
        assert needle in quality or needle.replace("&#39;", "'") in quality, needle


def test_runs_table_records_each_run(settings, example_run_copy):
    from coalition_metrics.load import connect

    ok = example_run_copy
    with pytest.raises(Exception):
        run_quarterly(settings, quarter="2026-Q3", from_snapshot="nonexistent")
    con = connect(settings.output_folder / "coalition.duckdb")
    rows = con.execute("select run_id, status, quarter, snapshot_id is not null from runs order by started_at").fetchall()
    con.close()
    assert rows[0] == (ok.run_id, "succeeded", "2026-Q3", True)
    assert rows[1][1:] == ("failed", "2026-Q3", False)


def test_grid_form_attendance_gives_the_same_funder_metrics(settings, example_copy, example_run):
    """The example's attendance rewritten as a grid (a row per member, a column per meeting, P/A/E,
    no mark when the long form has no row) publishes byte-identical funder metrics."""
    import csv

    path = example_copy / "attendance.csv"
    with path.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if any(v.strip() for v in r.values())]
    meetings = list(dict.fromkeys(r["meeting_id"] for r in rows))
    members = list(dict.fromkeys(r["member_id"] for r in rows))
    marks = {(r["meeting_id"], r["member_id"]): r["status"][0].upper() for r in rows}
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["member_id", *meetings])
        for m in members:
            w.writerow([m, *(marks.get((mt, m), "") for mt in meetings)])
    long_run = example_run
    grid_run = run_quarterly(settings.with_overrides(source={"location": str(example_copy)}), quarter="2026-Q3")
    # The figures are byte-identical; the JSON's completeness header counts the tab's own rows
    # (a grid row is a member, a long-form row an attendance).
    assert (grid_run.folder / "funder_metrics.csv").read_bytes() == (long_run.folder / "funder_metrics.csv").read_bytes()
    grid_doc, long_doc = (json.loads((r.folder / "funder_metrics.json").read_text()) for r in (grid_run, long_run))
    assert grid_doc["metrics"] == long_doc["metrics"]
    assert grid_doc["completeness"]["tabs"]["attendance"]["rows_accepted"] == len(members) - 1
    counts = grid_run.manifest["row_counts"]["attendance"]
    assert counts["rows_read"] == len(members) and counts["rows_quarantined"] == 1  # the planted M11 row


def test_a_replay_checks_dates_against_the_day_the_source_was_read(settings):
    """Same snapshot, same metrics, whatever the day of the replay: "not in the future" is judged
    against the snapshot's read_on, not the replay's clock."""
    from datetime import date

    from coalition_metrics.pipeline import extract
    from coalition_metrics.snapshot import take_snapshot

    snaps = settings.output_folder / "snapshots"
    earlier = take_snapshot(extract(settings), snaps, read_on=date(2026, 9, 29))
    today = take_snapshot(extract(settings), snaps)
    assert earlier.snapshot_id != today.snapshot_id and earlier.tab_hashes == today.tab_hashes
    assert load_snapshot(earlier.snapshot_id, snaps).read_on == date(2026, 9, 29)

    replayed = [run_quarterly(settings, quarter="2026-Q3", from_snapshot=earlier.snapshot_id) for _ in range(2)]
    quarantined = json.loads((replayed[0].folder / "validation" / "quarantine.json").read_text())
    future = sorted((q["sheet_row"], q["column"], q["value"]) for q in quarantined if q["tab"] == "goal_measurements")
    assert [(c, v) for _, c, v in future] == [("measured_on", "2026-09-30")] * 2  # G1 and G2, Sept 30
    assert all("after 2026-09-29, the day the sheet was read" in q["reason"] for q in quarantined if q["tab"] == "goal_measurements")
    assert replayed[0].manifest["snapshot"]["read_on"] == "2026-09-29"
    assert (replayed[0].folder / "funder_metrics.json").read_bytes() == (replayed[1].folder / "funder_metrics.json").read_bytes()

    current = run_quarterly(settings, quarter="2026-Q3", from_snapshot=today.snapshot_id)
    assert current.manifest["quarantined_counts"]["goal_measurements"] == 0


def test_a_damaged_snapshot_of_todays_cells_is_taken_again(settings):
    """A damaged or partly deleted snapshot never blocks the day: reading the same cells again
    rewrites it, and the new one passes its hash check."""
    from coalition_metrics.pipeline import extract
    from coalition_metrics.snapshot import take_snapshot

    snaps = settings.output_folder / "snapshots"
    first = take_snapshot(extract(settings), snaps)
    (first.folder / "attendance.json").unlink()
    members = first.folder / "members.json"
    os.chmod(members, 0o644)
    members.write_text("{}")
    again = take_snapshot(extract(settings), snaps)
    assert again.snapshot_id == first.snapshot_id
    loaded = load_snapshot(first.snapshot_id, snaps)
    assert loaded.tabs["attendance"].rows == first.tabs["attendance"].rows
    assert [p.name for p in snaps.iterdir()] == [first.snapshot_id]  # the damaged copy is gone
    (first.folder / "snapshot.json").chmod(0o644)
    (first.folder / "snapshot.json").unlink()
    assert take_snapshot(extract(settings), snaps).snapshot_id == first.snapshot_id


@pytest.fixture(scope="module")
def published_once(tmp_path_factory, example_run):
    """One published run of 2026-Q3 in an output folder of its own, for the refusals below (each
    must leave it the only run)."""
    from coalition_metrics.config import load_settings

    from conftest import copy_of_run

    out = tmp_path_factory.mktemp("published-once")
    settings = load_settings(None, environ={}).with_overrides(output={"folder": str(out / "out"), "pdf": False})
    return settings, copy_of_run(example_run, out / "out")


@pytest.mark.parametrize("ref,message", [
    ("", "it was empty"),
    ("*", "no paths or wildcards"),
    ("2026*", "no paths or wildcards"),
    ("../out", "no paths or wildcards"),
    ("2026-Q3/x", "no paths or wildcards"),
    ("[0-9]*", "no paths or wildcards"),
    ("2026112", "a prefix needs at least 8 characters"),
    ("ffffffffffff", "No run or snapshot 'ffffffffffff'"),
])
def test_from_snapshot_takes_ids_not_patterns_or_paths(published_once, ref, message):
    settings, first = published_once
    with pytest.raises(SnapshotError, match=message.replace("*", r"\*").replace("(", r"\(")):
        run_quarterly(settings, quarter="2026-Q3", from_snapshot=ref)
    assert (first.folder.parent / "LATEST").read_text().strip() == first.run_id  # nothing else published
    assert [p.name for p in first.folder.parent.iterdir() if p.is_dir()] == [first.run_id]


def test_from_snapshot_prefixes_must_be_unique(settings, example_copy, example_run_copy):
    """A run id, a snapshot id or a unique prefix of 8+ characters; an ambiguous prefix names the
    matches (two runs of the same day, with different snapshots, share their first 9 characters)."""
    a = example_run_copy
    path = example_copy / "meetings.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], ",,,,", *lines[1:]]) + "\n")  # a blank row: other cells, same figures
    b = run_quarterly(settings.with_overrides(source={"location": str(example_copy)}), quarter="2026-Q3")
    assert a.manifest["snapshot"]["id"] != b.manifest["snapshot"]["id"]
    if a.run_id[:9] != b.run_id[:9]:  # the session's example run was made before midnight: replay it today
        a = run_quarterly(settings, quarter="2026-Q3", from_snapshot=a.manifest["snapshot"]["id"])
    common = len(os.path.commonprefix([a.run_id, b.run_id]))
    assert common >= 9  # YYYYMMDDT
    with pytest.raises(SnapshotError, match=f"is ambiguous: it starts run {a.run_id}, run {b.run_id}"):
        run_quarterly(settings, quarter="2026-Q3", from_snapshot=a.run_id[:common])
    by_prefix = run_quarterly(settings, quarter="2026-Q3", from_snapshot=b.run_id[:common + 1])
    assert by_prefix.manifest["snapshot"]["id"] == b.manifest["snapshot"]["id"]
    by_snapshot = run_quarterly(settings, quarter="2026-Q3", from_snapshot=a.manifest["snapshot"]["id"][:8])
    assert by_snapshot.manifest["snapshot"]["id"] == a.manifest["snapshot"]["id"]


def test_explain_shows_the_latest_published_run_not_a_failed_one(settings, example_copy, tmp_path):
    """A run that builds the database and then fails to publish leaves its figures in the marts;
    explain shows the figures the last succeeded run published, and names that run."""
    from coalition_metrics.explain import explain

    ok = run_quarterly(settings, quarter="2026-Q2")
    published = {m["metric_id"]: m for m in ok.manifest["metrics"]}
    # The next run reads a sheet with fewer members present, and its publishing fails: the
    # quarter's folder is a file.
    path = example_copy / "attendance.csv"
    path.write_text(path.read_text().replace(",present", ",absent"))
    (settings.output_folder / "2026-Q3").write_text("in the way")
    with pytest.raises(Exception, match="2026-Q3"):
        run_quarterly(settings.with_overrides(source={"location": str(example_copy)}), quarter="2026-Q3")
    from coalition_metrics.load import connect

    con = connect(settings.output_folder / "coalition.duckdb")
    in_marts = con.execute("select value from marts.published_metrics where published_id = 'attendance_rate' "
                           "and quarter = '2026-Q2'").fetchone()[0]
    statuses = [r[0] for r in con.execute("select status from runs order by started_at").fetchall()]
    con.close()
    assert in_marts < 0.05 < published["attendance_rate"]["value"]  # the failed run's figures are in the marts
    assert statuses == ["succeeded", "failed"]

    text = explain("attendance_rate", settings.output_folder)
    assert f"Published by run {ok.run_id} (quarterly-report 2026-Q2" in text
    row = next(l.split() for l in text.splitlines() if l.strip().startswith("attendance_rate ") and "2026-Q2" in l)
    assert row[2] == f"{published['attendance_rate']['value']:.0%}" and row[2] not in ("0%", "1%")
