"""The registry is the one place a metric is defined: docs/metrics.md is generated from it and
the SQL computes exactly the registered metrics."""

import pytest

from coalition_metrics.docs import DOC_PATH, metrics_markdown
from coalition_metrics.registry import load_registry, metric


def test_docs_metrics_md_is_generated_from_the_registry():
    assert DOC_PATH.read_text(encoding="utf-8") == metrics_markdown(), (
        "docs/metrics.md is stale: run `.venv/bin/python -m coalition_metrics.docs`")


def test_every_registered_metric_is_documented_with_its_model_and_ids():
    text = DOC_PATH.read_text(encoding="utf-8")
    for m in load_registry():
        assert f"### {m.id}\n" in text
        assert f"transforms/{m.model}" in text
        assert m.definition in text
    assert "`meetings_held[kind]`" in text and "`goal_progress[goal]`" in text and "`item_mean[item]`" in text


def test_dimensioned_ids_resolve_to_their_metric():
    assert metric("attendance_rate[monthly_call]").id == "attendance_rate"
    assert metric("goal_progress[G1]").unit == "share"
    assert metric("item_mean[trust]").survey is True
    with pytest.raises(KeyError):
        metric("no_such_metric")


def test_sql_computes_exactly_the_registered_metrics(example_run):
    import duckdb

    con = duckdb.connect(str(example_run.folder.parent.parent / "coalition.duckdb"), read_only=True)
    try:
        computed = {m for (m,) in con.execute("select distinct metric_id from marts.metric_values").fetchall()}
    finally:
        con.close()
    # the default instrument has no composite scales: scale_* are computed on the Wilder example
    # (tests/test_wilder_example.py)
    assert computed == {m.id for m in load_registry() if m.dimension != "scale"}


def test_registry_units_format_for_people():
    assert metric("attendance_rate").format(0.6462) == "65%"
    assert metric("satisfaction_change").format(0.25) == "+0.25"
    assert metric("single_champion_risk").format(1.0) == "yes"
    assert metric("satisfaction_change_p").format(0.0004) == "< 0.001"
    assert metric("overdue_open").format(None) == "no data"


def test_the_repository_documents_itself():
    """README and docs/ say everything a user needs: no pointer to a specification outside the
    repository, and every link points inside it and resolves (web addresses appear only as
    examples in code, never as links to follow)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pages = [root / "README.md", root / "examples" / "README.md", *sorted((root / "docs").glob("*.md"))]
    assert root / "docs" / "design.md" in pages
    checked = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text and "DESIGN.md" not in text, page
        for target in re.findall(r'\]\(([^)]+)\)|href="([^"]+)"', text):
            target = next(t for t in target if t)
            assert not re.match(r"^[a-z][a-z0-9+.-]*:", target), (page, f"a link out of the repository: {target}")
            path = target.split("#", 1)[0]
            if path:
                resolved = (page.parent / path).resolve()
                assert resolved.exists() and resolved.is_relative_to(root), (page, target)
                checked += 1
    assert checked >= 5


def test_a_definition_quotes_the_coalition_s_own_settings():
    from coalition_metrics.config import load_settings

    default = load_settings(None, environ={})
    own = default.with_overrides(
        metrics={"alert_drop": 0.125, "alert_absences": 2, "champion_share": 0.35, "on_track_margin": 0.0,
                 "voice_gap_waves": 1, "small_n": 12},
        cadence={"weekly_call": 0, "monthly_call": 2, "committee": 1})
    said = {m.id: m.described(own) for m in load_registry()}
    assert "fell by at least 12.5 points" in said["disengagement_alerts"]
    assert "absent from their last 2 expected meetings" in said["disengagement_alerts"]
    assert "exceeds 0.35 ([metrics] champion_share)" in said["single_champion_risk"]
    assert "expected_progress - 0.00 ([metrics] on_track_margin)" in said["on_track"]
    assert "pooled over the last one wave up to this one" in said["voice_gap"]
    assert "at least 12 answers" in said["voice_gap"]
    assert "fewer than 12 responses" in said["satisfaction_mean"]
    assert "n >= 12" in said["satisfaction_change"] and "n >= 12" in said["item_change"]
    assert "([cadence]: monthly_call 2, quarterly_meeting 1, committee 1 per quarter;" in said["cadence_adherence"]
    # the defaults, as docs/metrics.md quotes them
    assert {m.id: m.described(default) for m in load_registry()} == {m.id: m.definition for m in load_registry()}
    plain = metric("disengagement_alerts").definition
    assert "at least 25 points" in plain and "last 3 expected meetings" in plain and "{" not in plain
    assert "weekly_call 13, monthly_call 3, quarterly_meeting 1 per quarter" in metric("cadence_adherence").definition


def test_the_report_and_explain_quote_the_run_s_settings(tmp_path):
    from coalition_metrics.config import load_settings
    from coalition_metrics.explain import explain
    from coalition_metrics.pipeline import run_quarterly

    s = load_settings(None, environ={}).with_overrides(metrics={"alert_drop": 0.1, "alert_absences": 2},
                                                        output={"pdf": False})
    result = run_quarterly(s, quarter="2026-Q3", out=tmp_path / "out")
    report = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "fell by at least 10 points" in report and "last 2 expected meetings" in report
    assert "at least 25 points" not in report
    # explain reads the run's saved settings, whatever config it is given now
    for current in (None, load_settings(None, environ={})):
        text = explain("disengagement_alerts", tmp_path / "out", settings=current)
        assert "fell by at least 10 points from last quarter" in text and "last 2 expected meetings" in text, text
    # with no alert, the report says which lines nobody crossed: the coalition's own
    quiet = s.with_overrides(metrics={"alert_drop": 0.9, "alert_absences": 40})
    page = (run_quarterly(quiet, quarter="2026-Q3", out=tmp_path / "quiet").folder / "report.html").read_text("utf-8")
    assert ("No member's attendance fell by 90 points or more, and no member missed their last 40 expected "
            "meetings in a row.") in page
