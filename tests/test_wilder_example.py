"""The Wilder-style example (examples/wilder/): a coalition's own instrument of 13 items, 12 of them in
4 factors, runs end to end. Scale means are recomputed here from survey.csv and the config with plain
Python (csv, tomllib), not with the package's code."""

import csv
import json
import tomllib
from collections import defaultdict
from datetime import date, datetime

import pytest

from conftest import ROOT

WILDER = ROOT / "examples" / "wilder"


@pytest.fixture(scope="module")
def wilder(tmp_path_factory):
    from coalition_metrics.config import load_settings
    from coalition_metrics.pipeline import run_quarterly

    out = tmp_path_factory.mktemp("wilder")
    s = load_settings(WILDER / "coalition.toml", environ={}).with_overrides(output={"folder": str(out)})
    return run_quarterly(s, quarter="2026-Q3", today=date(2026, 11, 24))


def _config():
    return tomllib.loads((WILDER / "coalition.toml").read_text(encoding="utf-8"))


def hand_scale_means() -> dict[tuple[str, str], tuple[float, int]]:
    """(scale, wave) -> (mean of respondents' scale scores, n), straight from the CSV: answers as
    numbers or the item's labels, reverse items as 6 - answer, a respondent's score the mean of the
    scale's items answered when at least min_items (default all) were; the wave the calendar quarter
    of the M/D/YYYY timestamp. The example has one submission per member and wave, all on the roster."""
    cfg = _config()
    items = cfg["survey_items"]
    by_question = {spec["question"]: code for code, spec in items.items()}
    with (WILDER / "csv" / "survey.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    scores = defaultdict(list)
    for row in rows:
        ts = datetime.strptime(row["Timestamp"], "%m/%d/%Y %H:%M:%S")
        wave = f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"
        answer = {}
        for question, text in row.items():
            code = by_question.get(question)
            if code is None or not text.strip():
                continue
            labels = [x.lower() for x in items[code]["labels"]]
            value = labels.index(text.strip().lower()) + 1 if text.strip().lower() in labels else int(text)
            answer[code] = 6 - value if items[code].get("reverse") else value
        for scale, spec in cfg["survey_scales"].items():
            got = [answer[i] for i in spec["items"] if i in answer]
            if got and len(got) >= spec.get("min_items", len(spec["items"])):
                scores[(scale, wave)].append(sum(got) / len(got))
    return {key: (sum(v) / len(v), len(v)) for key, v in scores.items()}


def test_scale_means_equal_a_hand_computation_from_the_csv(wilder):
    import duckdb

    from coalition_metrics.registry import load_registry

    hand = hand_scale_means()
    con = duckdb.connect(str(wilder.folder.parent.parent / "coalition.duckdb"), read_only=True)
    try:
        rows = con.execute("""select dimension, quarter, value, n, suppressed from marts.published_metrics
                              where metric_id = 'scale_mean' and n > 0""").fetchall()
        computed = {m for (m,) in con.execute("select distinct metric_id from marts.metric_values").fetchall()}
    finally:
        con.close()
    assert len(rows) == len(hand) and len(rows) >= 4 * 7  # four factors, every wave since 2024-Q4
    scale_ids = {m.id for m in load_registry() if m.dimension == "scale"}
    assert scale_ids == {"scale_mean", "scale_ci_low", "scale_ci_high"} and scale_ids <= computed
    for scale, wave, value, n, suppressed in rows:
        mean, count = hand[(scale, wave)]
        assert n == count, (scale, wave)
        assert suppressed == (count < 5)
        if not suppressed:
            assert value == pytest.approx(mean, abs=1e-9), (scale, wave)
    # and the funder file carries the same figures, rounded to 4 places
    with (wilder.folder / "funder_metrics.csv").open(newline="", encoding="utf-8") as fh:
        funder = {(r["metric_id"], r["quarter"]): r for r in csv.DictReader(fh)}
    for scale in _config()["survey_scales"]:
        mean, count = hand[(scale, "2026-Q3")]
        row = funder[(f"scale_mean[{scale}]", "2026-Q3")]
        assert row["value"] == f"{round(mean, 4):g}" or float(row["value"]) == round(mean, 4)
        assert int(row["n"]) == count


def test_items_scales_and_bands_appear_in_the_report(wilder):
    cfg = _config()
    html = (wilder.folder / "report.html").read_text()
    for spec in cfg["survey_items"].values():
        assert spec["question"].replace("'", "&#39;") in html, spec["question"]
    hand = hand_scale_means()
    for scale, spec in cfg["survey_scales"].items():
        assert spec["name"] in html
        mean, count = hand[(scale, "2026-Q3")]
        band = next(b["label"] for b in spec["bands"] if b["min"] <= mean + 1e-9)  # float noise: 2.9999.. is 3
        row = html.split(spec["name"], 1)[1].split("</tr>", 1)[0]
        assert f">{mean:.2f}<" in row and f">{band}<" in row, (scale, mean, band, row)
    assert "strength 4.0 and above; borderline 3.0 to below 4.0; concern 1.0 to below 3.0" in html
    assert "(reversed)" in html and "(coordinators only)" in html


def test_the_coordinator_only_item_never_reaches_the_funder_files(wilder):
    question = _config()["survey_items"]["staff_support"]["question"]
    csv_text = (wilder.folder / "funder_metrics.csv").read_text()
    doc = json.loads((wilder.folder / "funder_metrics.json").read_text())
    funder_page = (wilder.folder / "funder.html").read_text()
    for text in (csv_text, json.dumps(doc), funder_page):
        assert "staff_support" not in text and question not in text
    ids = {m["metric_id"] for m in doc["metrics"]}
    labels = {m["metric_id"]: m["label"] for m in doc["metrics"]}
    assert labels["item_mean[guarded]"] == (
        "Item mean: Members are guarded about what they share with one another. (reverse-scored)")
    assert labels["scale_mean[goals_factor]"] == "Scale mean: Concrete, attainable goals and objectives"
    assert "item_mean[equal_say]" in ids and "scale_mean[trust_factor]" in ids and "voice_gap" in ids
    # no satisfaction item in this instrument: satisfaction_mean is "no data" (no rows), not a number
    assert not any(i.startswith("satisfaction_") for i in ids)
    report = (wilder.folder / "report.html").read_text()
    assert question in report  # the coordinator's report has it


def test_explain_says_a_coordinator_only_item_is_kept_from_funders(wilder):
    from coalition_metrics.explain import explain

    out = wilder.folder.parent.parent
    hidden = json.loads(explain("item_mean[staff_support]", out, quarter="2026-Q3", fmt="json"))
    shown = json.loads(explain("item_mean[equal_say]", out, quarter="2026-Q3", fmt="json"))
    assert hidden["audience"] == "coordinator" and shown["audience"] == "funder"
    text = explain("item_mean[staff_support]", out, quarter="2026-Q3")
    assert "audience      coordinators only (its survey item or scale is declared funder = false)" in text


def test_the_funder_rows_are_the_rows_every_figure_marks_for_funders(wilder):
    """One query serves the report and the funder files: the rows of every figure whose for_funder
    is true are, in the same order, the rows the audience = 'funder' query gives (coordinator-only
    items and scales, coordinator metrics and member-level figures left out alike)."""
    import duckdb

    from coalition_metrics.coalition_db import coalition_view
    from coalition_metrics.config import load_settings
    from coalition_metrics.render import published_rows

    s = load_settings(WILDER / "coalition.toml", environ={})
    db = duckdb.connect(str(wilder.folder.parent.parent / "coalition.duckdb"), read_only=True)
    try:
        with coalition_view(db, s.coalition_id) as con:
            every, funders = published_rows(con), published_rows(con, audience="funder")
    finally:
        db.close()
    marked = [r for r in every if r["for_funder"]]
    assert marked == funders and 0 < len(funders) < len(every)
    assert any(r["dimension"] == "staff_support" for r in every)
    assert not any(r["dimension"] == "staff_support" for r in funders)
