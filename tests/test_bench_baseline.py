"""The benchmark's pandas baseline (benchmarks/pandas_metrics.py) computes every registered metric as
the SQL does, and its check fails on a disagreement; the generator is deterministic."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from coalition_metrics.registry import load_registry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import generate  # noqa: E402
import pandas_metrics as pm  # noqa: E402


@pytest.fixture(scope="module")
def example_db(example_run):
    con = duckdb.connect(str(example_run.folder.parent.parent / "coalition.duckdb"), read_only=True)
    yield con
    con.close()


def test_baseline_covers_every_registered_metric():
    assert set(pm.COVERED) == {m.id for m in load_registry()}


def test_baseline_agrees_with_sql_on_the_example(example_db):
    computed = pm.compute(pm.read_inputs(example_db))
    compared = pm.check(example_db, computed)
    sql_rows = example_db.execute("select count(*) from marts.metric_values").fetchone()[0]
    assert compared == sql_rows > 700
    # one figure counted by hand from examples/riverside/csv/meetings.csv
    row = computed[(computed["metric_id"] == "meetings_held") & computed["dimension"].isna()
                   & (computed["quarter"] == "2026-Q3")]
    assert row["value"].tolist() == [20.0]  # meetings.csv has 20 rows dated July-September 2026


def test_check_fails_loudly_on_a_disagreement(example_db):
    computed = pm.compute(pm.read_inputs(example_db))
    at = computed.index[(computed["metric_id"] == "attendance_rate") & computed["dimension"].isna()
                        & (computed["quarter"] == "2026-Q3")][0]
    computed.loc[at, "value"] += 1e-6
    with pytest.raises(pm.MetricsDisagree, match=r"1 of \d+ metric rows \(attendance_rate: 1\)"):
        pm.check(example_db, computed)
    computed.loc[at, "value"] -= 1e-6
    computed.loc[at, "n"] += 1
    with pytest.raises(pm.MetricsDisagree, match="attendance_rate"):
        pm.check(example_db, computed)


def test_generator_is_deterministic_and_plants_bad_rows():
    a = generate.generate(generate.Shape(12, 6), seed=3)
    b = generate.generate(generate.Shape(12, 6), seed=3)
    assert all(a[t].astype(str).equals(b[t].astype(str)) for t in a)
    assert list(a) == ["members", "meetings", "attendance", "survey", "tasks", "goals", "goal_measurements",
                       "milestones"]
    att = a["attendance"].astype(str)
    assert ((att == "").all(axis=1)).sum() == 1  # one wholly blank row
    assert (~att["member_id"].isin(a["members"]["member_id"]) & (att["member_id"] != "")).sum() == 1
    assert (a["survey"].iloc[:, 2:] == "6").sum().sum() == 1
    assert a["tasks"]["task_id"].duplicated().sum() == 1
    assert generate.single_shape(1) == generate.Shape(10, 9)
    assert generate.single_shape(1000).quarters == 80
