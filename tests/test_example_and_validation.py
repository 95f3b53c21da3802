"""The bundled example is what its generator writes; tab-level validation rules."""

import subprocess
import sys

import pytest

from conftest import EXAMPLE_CSV, EXAMPLE_XLSX, ROOT
from coalition_metrics.errors import BlockingValidationError
from coalition_metrics.pipeline import extract
from coalition_metrics.validate import validate_snapshot


def test_checked_in_example_is_the_generators_output(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "examples" / "generate_example.py"), str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    for f in sorted(EXAMPLE_CSV.glob("*.csv")):
        assert (tmp_path / "csv" / f.name).read_bytes() == f.read_bytes(), f.name
    assert (tmp_path / "riverside.xlsx").read_bytes() == EXAMPLE_XLSX.read_bytes()


def _validate(settings, folder):
    s = settings.with_overrides(source={"location": str(folder)})
    return validate_snapshot(extract(s), s)


def test_too_many_bad_rows_stop_the_run(settings, example_copy):
    path = example_copy / "tasks.csv"
    lines = path.read_text().splitlines()
    # 20 of 72 task rows get an owner no member has: 28% > the 20% allowed.
    bad = [l.replace(",M0", ",X9", 1) if 1 <= i <= 20 else l for i, l in enumerate(lines)]
    path.write_text("\n".join(bad) + "\n")
    with pytest.raises(BlockingValidationError, match=r"Tab 'tasks': 2\d of 7\d rows \(\d+%\) failed checks, more than the 20%"):
        _validate(settings, example_copy)


def test_missing_survey_question_is_blocking_and_named(settings, example_copy):
    path = example_copy / "survey.csv"
    path.write_text(path.read_text().replace("My organization's voice is heard in coalition decisions.", "Voice", 1))
    with pytest.raises(BlockingValidationError, match="no column for survey item 'voice_heard'"):
        _validate(settings, example_copy)


def test_headers_match_after_trimming_and_case_folding(settings, example_copy):
    path = example_copy / "members.csv"
    path.write_text(path.read_text().replace("member_id,organization", " Member_ID ,ORGANIZATION", 1))
    result = _validate(settings, example_copy)
    assert result.tabs["members"].rows_accepted == 10


def test_every_row_is_accounted_for(settings):
    result = _validate(settings, EXAMPLE_CSV)
    for name, t in result.tabs.items():
        assert t.rows_accepted + t.rows_quarantined + t.rows_blank == t.rows_read, name
    cells = [(q.tab, q.column, q.value) for q in result.quarantined]
    assert cells == [("attendance", "member_id", "M11"), ("tasks", "task_id", "T017"),
                     ("tasks", "due_on", "March 15, 2026"), ("survey", "trust", "6"),
                     ("survey", "respondent", "Riverside Chamber of Commerce")]


def test_demo_data_quality_page_lists_the_planted_defects_with_sheet_rows(example_run):
    """examples/README.md plants six defects; the run's validation/index.html shows each one."""
    import html
    import re

    folder = example_run.folder
    page = html.unescape((folder / "validation" / "index.html").read_text())
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td>([^<]+)</td><td>([^<]*)</td><td>([^<]+)</td>", page)
    assert [(int(r), c, v) for r, c, v, _ in rows] == [
        (953, "member_id", "M11"),  # unknown member id
        (21, "task_id", "T017"),  # duplicate task id
        (47, "due_on", "March 15, 2026"),  # date typed in words
        (24, "trust", "6"),  # Likert 6
        (27, "respondent", "Riverside Chamber of Commerce"),  # superseded submission
    ]
    assert "(row 659)" in page  # the blank attendance row, skipped and counted
    counts = example_run.manifest["row_counts"]["attendance"]
    assert (counts["rows_read"], counts["rows_blank"], counts["rows_accepted"], counts["rows_quarantined"]) == (1316, 1, 1314, 1)
    # Coordinator outputs only: the funder files carry no row.
    assert "M11" not in (folder / "funder_metrics.json").read_text()
    assert (folder / "validation" / "quarantine.csv").read_text().count("\n") == 6
