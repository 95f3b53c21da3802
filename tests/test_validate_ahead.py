"""A validation made ahead of Great Expectations' answer (validate/ahead.py): the prediction gives
Great Expectations' own answer wherever it answers at all, and a run keeps nothing made from a
prediction that Great Expectations refutes."""

from __future__ import annotations

import json
import random
import shutil
import threading
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from test_gx_process import ROOT, hostile_sheet

from coalition_metrics import pipeline, publish
from coalition_metrics.config import load_settings
from coalition_metrics.validate import ahead, gx_process
from coalition_metrics.validate.gx_process import validate_here

TODAY = date(2026, 11, 24)


def hostile_columns(rng: random.Random, n: int) -> dict[str, pd.Series]:
    """Columns of every kind a stacked frame holds, and some it never does, with every kind of blank."""
    blank = [None, np.nan, pd.NaT, pd.NA]
    words = ["a", "b", "", " ", "True", "1", "é", "e\u0301", "x" * 40]

    def pick(values, blanks=0.2):
        return [rng.choice(blank) if rng.random() < blanks else rng.choice(values) for _ in range(n)]

    day = datetime(2020, 1, 1)
    days = [day + timedelta(days=rng.randint(-20000, 40000)) for _ in range(n)]
    return {
        "text": pd.Series(pick(words), dtype=object),
        "text_str": pd.Series([rng.choice(words) if rng.random() > 0.2 else None for _ in range(n)], dtype="str"),
        "mixed": pd.Series(pick(words + [True, False, 1, 0, 1.0, 2.5]), dtype=object),
        "flags": pd.Series(pick([True, False]), dtype=object),
        "numbers": pd.Series([rng.choice([1, 2, 3, 4, 5, 0, 6, 2.5, -1, np.nan]) for _ in range(n)], dtype=float),
        "ints": pd.Series([rng.randint(-3, 8) for _ in range(n)], dtype="int64"),
        "ints32": pd.Series([rng.randint(-3, 8) for _ in range(n)], dtype="int32"),
        "num_objects": pd.Series(pick([1, 2, 5, 6, 2.5, -1]), dtype=object),
        "when": pd.Series([d if rng.random() > 0.2 else pd.NaT for d in days], dtype="datetime64[ns]"),
        "when_s": pd.Series([d if rng.random() > 0.2 else pd.NaT for d in days]).astype("datetime64[s]"),
        "when_tz": pd.Series([d if rng.random() > 0.2 else pd.NaT for d in days],
                             dtype="datetime64[ns]").dt.tz_localize(timezone.utc),
        "iso": pd.Series(pick([d.date().isoformat() for d in days[:20]]), dtype=object),
    }


FAMILIES = {"numbers": "number", "ints": "number", "ints32": "number", "num_objects": "number",
            "when": "when", "when_s": "when", "when_tz": "when"}


def hostile_specs(rng: random.Random, columns: list[str]) -> list[tuple[str, dict]]:
    """Every covered expectation type on every column, with bounds and pairs mostly of the column's
    own family (so most are covered) and sometimes of any (so some are not)."""
    bounds = {"number": [None, 1, 5, 2.5, -1, 0.0], "when": [None, datetime(1990, 1, 1), datetime(2100, 12, 31),
                                                             datetime(2026, 11, 24, 23, 59, 59), date(2020, 1, 1)],
              "text": [None, "b", "2020-01-01", True, "a"]}
    everything = [b for family in bounds.values() for b in family]
    sets = [["a", "b"], [True], [True, False], ["True", "1"], [1, 2, 3], [1.0, "a", True], [], None]
    specs = []
    for column in columns:
        family = FAMILIES.get(column, "text")
        own = [c for c in columns if FAMILIES.get(c, "text") == family]
        specs.append(("expect_column_values_to_not_be_null", {"column": column}))
        specs.append(("expect_column_values_to_be_null", {"column": column, "mostly": 0.5}))
        for _ in range(4):
            specs.append(("expect_column_values_to_be_in_set", {"column": column, "value_set": rng.choice(sets)}))
            choices = bounds[family] if rng.random() < 0.8 else everything
            lo, hi = rng.choice(choices), rng.choice(choices)
            kwargs = {"column": column, "min_value": lo, "max_value": hi}
            for flag in ("strict_min", "strict_max"):
                if rng.random() < 0.3:
                    kwargs[flag] = True
            specs.append(("expect_column_values_to_be_between", kwargs))
            other = rng.choice(own if rng.random() < 0.8 else columns)
            pair = {"column_A": column, "column_B": other,
                    "ignore_row_if": rng.choice(["both_values_are_missing", "either_value_is_missing", "neither"])}
            if rng.random() < 0.5:
                pair["or_equal"] = True
            specs.append(("expect_column_pair_values_a_to_be_greater_than_b", pair))
    specs.append(("expect_column_values_to_match_regex", {"column": columns[0], "regex": "a"}))  # not covered
    specs.append(("expect_column_values_to_be_in_set", {"column": columns[0], "value_set": ["a"],
                                                        "row_condition": "x"}))  # an argument not covered
    return specs


def test_the_prediction_is_great_expectations_answer_wherever_it_answers():
    rng = random.Random(13)
    predicted = unpredicted = failing_rows = 0
    kinds = set()
    for n in (0, 1, 57):
        columns = hostile_columns(rng, n)
        stacked = pd.DataFrame(columns)
        stacked["stacked"] = np.arange(n, dtype=np.int64) * 3 + 7  # not the row positions
        specs = [(kind, kwargs, {"stack": i}) for i, (kind, kwargs) in enumerate(hostile_specs(rng, list(columns)))]
        answers = {}
        covered = []
        for spec in specs:
            try:
                (answers[spec[2]["stack"]],) = ahead.predict(stacked, [spec])
            except ahead.Unpredicted:
                unpredicted += 1
                continue
            covered.append(spec)
        real = validate_here(stacked, covered, f"hostile-{n}")  # one Great Expectations call
        assert len(real) == len(covered)
        for answer in real:
            assert answers[answer[0]] == answer, (covered[[s[2]["stack"] for s in covered].index(answer[0])], answer)
            predicted += 1
            failing_rows += len(answer[2])
            if answer[2]:
                kinds.add(covered[[s[2]["stack"] for s in covered].index(answer[0])][0])
    # not a test that passes by predicting nothing: most calls are covered, and they fail rows
    assert predicted >= 300, (predicted, unpredicted)
    assert unpredicted >= 50
    assert failing_rows >= 3000
    assert len(kinds) == 5  # every covered type failed some rows


def test_what_the_prediction_leaves_great_expectations_reports():
    """Values Great Expectations cannot compare are not predicted: its own error is reported
    (test_gx_process: a rule Great Expectations cannot check stops the run naming it)."""
    stacked = pd.DataFrame({"v": pd.Series(["a", 3, None], dtype=object), "stacked": np.arange(3)})
    spec = ("expect_column_values_to_be_between", {"column": "v", "min_value": 1, "max_value": 5}, {"stack": 0})
    with pytest.raises(ahead.Unpredicted):
        ahead.predict(stacked, [spec])
    ((_stack, raised, _rows),) = validate_here(stacked, [spec], "mixed")
    assert raised is not None


def example(tmp_path):
    return load_settings(None, environ={}).with_overrides(source={"location": str(hostile_sheet(tmp_path))})


def published(result) -> dict[str, bytes]:
    """The run's published files that carry no run id: the funder figures and the rows set aside."""
    folder = result.folder
    files = {"funder_metrics.csv": (folder / "funder_metrics.csv").read_bytes()}
    for path in sorted((folder / "validation").rglob("*.csv")):
        files[str(path.relative_to(folder))] = path.read_bytes()
    return files


@pytest.fixture
def worker():
    assert gx_process.start()
    yield gx_process._worker
    gx_process.stop()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The same run with no Great Expectations process: validated by GX alone, nothing ahead (made
    once for the module's tests: each compares its own run with it)."""
    tmp_path = tmp_path_factory.mktemp("plain")
    assert not gx_process.running()
    result = pipeline.run_quarterly(example(tmp_path / "plain"), "2026-Q3", out=tmp_path / "plain-out",
                                    today=TODAY, write_back=False)
    return published(result)


def spied(monkeypatch) -> dict[str, list]:
    """Counts of what a run did: validations made by Great Expectations alone, predictions kept."""
    seen = {"validate": [], "kept": []}
    real_validate, real_agreed = pipeline.validate, ahead.Ahead.agreed

    def validate(snap, settings):
        seen["validate"].append(1)
        return real_validate(snap, settings)

    def agreed(self):
        seen["kept"].append(self.predicted)
        return real_agreed(self)

    monkeypatch.setattr(pipeline, "validate", validate)
    monkeypatch.setattr(ahead.Ahead, "agreed", agreed)
    return seen


def test_a_run_made_ahead_publishes_what_great_expectations_alone_does(tmp_path, plain, worker, monkeypatch):
    seen = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert seen == {"validate": [], "kept": [3]}  # three stages predicted, then confirmed by GX
    assert published(result) == plain
    assert b"NOBODY" in b"".join(plain.values())  # the hostile rows are set aside in both


def rendered_first(monkeypatch, renderer: str = "render_ahead") -> dict[str, int]:
    """Great Expectations' answers are compared only once the run has rendered its files ahead
    (``renderer``, between the build's commit and its check), so a test sees that path whatever
    the two processes' speeds; counts of the renderings ahead and of every reading of figures."""
    done = threading.Event()
    seen = {"ahead": 0, "read": 0}
    real_render, real_check, real_read = getattr(pipeline, renderer), ahead.Ahead._check, publish.read_figures

    def render(*a, **k):
        seen["ahead"] += 1
        try:
            return real_render(*a, **k)
        finally:
            done.set()

    def check(self):
        done.wait(30)
        return real_check(self)

    def read(*a, **k):
        seen["read"] += 1
        return real_read(*a, **k)

    monkeypatch.setattr(pipeline, renderer, render)
    monkeypatch.setattr(ahead.Ahead, "_check", check)
    monkeypatch.setattr(publish, "read_figures", read)
    return seen


def test_files_rendered_while_great_expectations_answers_are_published(tmp_path, plain, worker, monkeypatch):
    seen = rendered_first(monkeypatch)
    kept = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert kept == {"validate": [], "kept": [3]}
    assert seen == {"ahead": 1, "read": 1}  # the figures were read once, ahead, and not again
    assert published(result) == plain
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["run_id"] == result.run_id and manifest["metrics"]
    assert result.run_id in (result.folder / "report.html").read_text()


def test_files_rendered_from_a_refuted_prediction_are_not_published(tmp_path, plain, worker, monkeypatch):
    refute(monkeypatch, one_more)  # a row set aside that GX passes: the build from it succeeds
    seen = rendered_first(monkeypatch)
    kept = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert kept["validate"] == [1]
    assert seen == {"ahead": 1, "read": 2}  # read again from the build made from GX's own validation
    assert published(result) == plain


def test_a_failed_rendering_ahead_leaves_the_publish_stage_to_render(tmp_path, plain, worker, monkeypatch):
    seen = rendered_first(monkeypatch)
    real = publish.render_run_folder
    calls = []

    def fails_once(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("rendering failed")
        return real(*a, **k)

    monkeypatch.setattr(publish, "render_run_folder", fails_once)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert (seen, len(calls)) == ({"ahead": 1, "read": 2}, 2)
    assert published(result) == plain


def test_a_refresh_renders_its_files_ahead(tmp_path, worker, monkeypatch):
    settings = example(tmp_path / "sheet")
    monkeypatch.setattr(pipeline, "render_funder_ahead", None)  # rendered after the answers only
    alone = pipeline.run_refresh(settings, out=tmp_path / "alone", as_of="2026-10-15", write_back=False)
    monkeypatch.undo()
    seen = rendered_first(monkeypatch, "render_funder_ahead")
    result = pipeline.run_refresh(settings, out=tmp_path / "ahead", as_of="2026-10-15", write_back=False)
    assert seen == {"ahead": 1, "read": 0}
    for name in ("funder_metrics.csv", "funder_metrics.json", "validation/quarantine.json"):
        assert (result.folder / name).read_bytes() == (alone.folder / name).read_bytes(), name
    assert json.loads((result.folder / "manifest.json").read_text())["run_id"] == result.run_id


def refute(monkeypatch, change):
    """Predictions changed by ``change`` (a list of answers -> a list of answers)."""
    real = ahead.predict

    def wrong(stacked, specs):
        return change(real(stacked, specs))

    monkeypatch.setattr(ahead, "predict", wrong)


def test_a_refuted_prediction_is_built_again_from_great_expectations_answer(tmp_path, plain, worker, monkeypatch):
    refute(monkeypatch, one_fewer)
    seen = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert seen["validate"] == [1]  # validated again by Great Expectations alone
    assert published(result) == plain


def one_fewer(answers):
    """One failing row fewer for each expectation that has any: the prediction lets bad rows through."""
    return [(stack, raised, rows[1:]) if rows else (stack, raised, rows) for stack, raised, rows in answers]


def one_more(answers):
    """Row 0 failing too for the first expectation it passes: the prediction sets a good row aside."""
    for n, (stack, raised, rows) in enumerate(answers):
        if 0 not in rows:
            return [*answers[:n], (stack, raised, [0, *rows]), *answers[n + 1:]]
    return answers


def blocked_ahead(monkeypatch):
    """A validation made ahead stops at a blocking problem found from its predicted answers."""
    from coalition_metrics.errors import BlockingValidationError

    real = pipeline.validate_snapshot

    def validate_snapshot(tabs, settings, today=None, check=None):
        validation = real(tabs, settings, today, check=check)
        if check is not None:
            raise BlockingValidationError(["a problem found from the predicted answers"], validation)
        return validation

    monkeypatch.setattr(pipeline, "validate_snapshot", validate_snapshot)


def test_a_blocking_problem_found_ahead_is_reported_when_great_expectations_agrees(tmp_path, worker, monkeypatch):
    from coalition_metrics.errors import BlockingValidationError

    blocked_ahead(monkeypatch)
    seen = spied(monkeypatch)
    with pytest.raises(BlockingValidationError, match="a problem found from the predicted answers"):
        pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                               today=TODAY, write_back=False)
    assert seen == {"validate": [], "kept": [3]}


def test_a_blocking_problem_from_a_refuted_prediction_is_not_reported(tmp_path, plain, worker, monkeypatch):
    blocked_ahead(monkeypatch)
    refute(monkeypatch, one_fewer)
    seen = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert seen["validate"] == [1]
    assert published(result) == plain


def test_a_build_error_from_a_refuted_prediction_is_not_reported(tmp_path, plain, worker, monkeypatch):
    """A prediction that makes the build fail (here: no member or meeting accepted, so no first
    quarter) is checked before the error is reported."""
    real_first = pipeline.first_quarter
    calls = []

    def first(validation, settings):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a build error caused by the prediction")
        return real_first(validation, settings)

    refute(monkeypatch, one_fewer)
    monkeypatch.setattr(pipeline, "first_quarter", first)
    seen = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert seen["validate"] == [1] and len(calls) == 2
    assert published(result) == plain


def test_a_build_error_from_a_confirmed_prediction_is_reported(tmp_path, worker, monkeypatch):
    def first(validation, settings):
        raise RuntimeError("the build's own error")

    monkeypatch.setattr(pipeline, "first_quarter", first)
    seen = spied(monkeypatch)
    with pytest.raises(RuntimeError, match="the build's own error"):
        pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                               today=TODAY, write_back=False)
    assert seen == {"validate": [], "kept": [3]}


def second_call_unpredicted(monkeypatch, change=lambda answers: answers) -> list:
    """Predictions changed by ``change``, but none for the second call; returns the calls' sizes, one
    per call the prediction was asked for."""
    predicted = []
    real = ahead.predict

    def predict(stacked, specs):
        predicted.append(len(specs))
        if len(predicted) == 2:
            raise ahead.Unpredicted("the second call")
        return change(real(stacked, specs))

    monkeypatch.setattr(ahead, "predict", predict)
    return predicted


def test_a_call_not_predicted_is_answered_by_great_expectations_and_so_are_the_later_ones(
        tmp_path, plain, worker, monkeypatch):
    predicted = second_call_unpredicted(monkeypatch)
    seen = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert len(predicted) == 2  # the third call went to Great Expectations without a prediction
    assert seen == {"validate": [], "kept": [1]}  # the first call checked when the second was not predicted
    assert published(result) == plain


def test_frames_of_any_size_go_to_great_expectations_process(tmp_path, plain, worker, monkeypatch):
    """The size limit is for a caller that waits on the answer: one made ahead does not."""
    monkeypatch.setattr(gx_process, "MAX_CELLS", 0)
    sent = []
    real = gx_process.GxProcess.validate

    def counted(self, stacked, specs, name):
        sent.append(stacked.size)
        return real(self, stacked, specs, name)

    monkeypatch.setattr(gx_process.GxProcess, "validate", counted)
    seen = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert seen == {"validate": [], "kept": [3]}
    assert len(sent) == 3 and min(sent) > 0
    assert gx_process.running()  # not stopped for a large frame
    assert published(result) == plain


def row_0_flipped(answers):
    """Row 0 of the first expectation failing <-> passing: a prediction Great Expectations refutes."""
    stack, raised, rows = answers[0]
    return [(stack, raised, rows[1:] if rows[:1] == [0] else [0, *rows]), *answers[1:]]


def counted_builds(monkeypatch) -> list[int]:
    """One item per database build (pipeline._build) the run makes."""
    built: list[int] = []
    real_build = pipeline._build
    monkeypatch.setattr(pipeline, "_build", lambda *a, **k: built.append(1) or real_build(*a, **k))
    return built


def test_a_refuted_prediction_found_when_the_prediction_gives_up_stops_it_at_once(
        tmp_path, plain, worker, monkeypatch):
    """The first call mispredicted, the second not predicted: Great Expectations answers the first
    before the second is sent, and the validation is made anew from its answers then, not after a
    build."""
    predicted = second_call_unpredicted(monkeypatch, row_0_flipped)
    built = counted_builds(monkeypatch)
    seen = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert len(predicted) == 2
    assert seen == {"validate": [1], "kept": [1]}
    assert built == [1]  # one build, from Great Expectations' own validation
    assert published(result) == plain


def test_kept_calls_are_answered_while_the_validation_runs_and_a_refutation_stops_it(
        tmp_path, plain, worker, monkeypatch):
    """Each kept call goes to Great Expectations as it is made: the first is answered (and refuted
    here) while the validation goes on, so the validation stops at its next call and is made anew
    from Great Expectations' answers, before anything is built from it."""
    real_predict, real_call = ahead.predict, ahead.Ahead.__call__
    predicted, calls = [], []

    def first_wrong(stacked, specs):
        answers = real_predict(stacked, specs)
        predicted.append(1)
        return row_0_flipped(answers) if len(predicted) == 1 else answers

    def call(self, stacked, specs, name):
        calls.append(1)
        if len(calls) == 2:
            self._thread.join(60)  # the first call's answer came back meanwhile
            assert not self._thread.is_alive() and self._agreed is False
        return real_call(self, stacked, specs, name)

    monkeypatch.setattr(ahead, "predict", first_wrong)
    monkeypatch.setattr(ahead.Ahead, "__call__", call)
    built = counted_builds(monkeypatch)
    seen = spied(monkeypatch)
    result = pipeline.run_quarterly(example(tmp_path / "ahead"), "2026-Q3", out=tmp_path / "ahead-out",
                                    today=TODAY, write_back=False)
    assert (len(calls), len(predicted)) == (2, 1)  # the second call stopped the validation
    assert seen == {"validate": [1], "kept": [1]}
    assert built == [1]  # one build, from Great Expectations' own validation
    assert published(result) == plain


def test_a_refuted_build_is_never_read_for_a_published_run(tmp_path, worker, monkeypatch):
    """Every task is dated 1980 (before the plausible range): Great Expectations sets them all aside,
    more than max_bad_share, and the run stops. A prediction that lets them through builds the
    database first. That build is recorded as the failed run's (ref.build), so explain does not
    read its tables for the published run: it replays that run and lists the same rows as before."""
    from test_lineage import explain_json

    import csv

    from coalition_metrics.errors import BlockingValidationError

    sheet = tmp_path / "sheet"
    shutil.copytree(ROOT / "examples" / "riverside" / "csv", sheet)
    settings = load_settings(None, environ={}).with_overrides(source={"location": str(sheet)})
    out = tmp_path / "out"
    pipeline.run_quarterly(settings, "2026-Q3", out=out, today=TODAY, write_back=False)
    db = out / "coalition.duckdb"
    before = database_state(db)
    listed = explain_json(out, "task_completion_rate", quarter="2026-Q3")
    assert listed["lineage"] == "live" and len(listed["included"]) == 9

    with (sheet / "tasks.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["created_on"], row["due_on"], row["completed_on"] = "1/1/1980", "1/5/1980", ""
    with (sheet / "tasks.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    refute(monkeypatch, lambda answers: [(stack, raised, []) for stack, raised, _rows in answers])
    seen = spied(monkeypatch)
    built = counted_builds(monkeypatch)
    with pytest.raises(BlockingValidationError, match="Tab 'tasks': 72 of 72 rows"):
        pipeline.run_quarterly(settings, "2026-Q3", out=out, today=TODAY, write_back=False)
    assert (built, seen) == ([1], {"validate": [1], "kept": [3]})  # built from the prediction, then refuted
    after = database_state(db)
    assert after["build"][0][1] != before["build"][0][1]  # recorded as the failed run's build
    assert after["tasks"] != before["tasks"]  # (the refuted tasks)
    replayed = explain_json(out, "task_completion_rate", quarter="2026-Q3")
    assert replayed["lineage"] == "replay"
    assert (replayed["included"], replayed["excluded"]) == (listed["included"], listed["excluded"])


def database_state(db) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return {"build": con.execute("select * from ref.build").fetchall(),
                "tasks": con.execute("select * from staging.stg_tasks order by all").fetchall(),
                "raw_tasks": con.execute("select count(*) from raw.tasks").fetchall(),
                "figures": con.execute("select * from marts.published_metrics order by all").fetchall()}
    finally:
        con.close()
