"""jsontext.dumps_indented writes exactly json.dumps(value, indent=2, ensure_ascii=False): the
published JSON files' bytes must not change with the faster writer."""

import json
import random

import pytest

from coalition_metrics.jsontext import dumps_indented

SCALARS = [None, True, False, 0, -1, 2**70, 1.5, -0.0, 1e300, 1e-7, float("nan"), float("inf"), float("-inf"),
           0.1 + 0.2, "", "x\ny", "tab\there", "ü€😀", "\x00\x1f\x7f", "'=1+2", '"quoted" \\ back', "\u2028\u2029"]
KEYS = ["a", "metric_id", "é", "\u2028x", '"q"', "", "key with spaces", "😀"]


def _random_value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth < 4 and r < 0.25:
        return {rng.choice(KEYS) + str(i): _random_value(rng, depth + 1) for i in range(rng.randint(0, 4))}
    if depth < 4 and r < 0.45:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if depth < 4 and r < 0.5:
        return tuple(_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    return rng.choice(SCALARS)


def test_same_text_as_json_dumps_on_random_documents():
    rng = random.Random(13)
    for _ in range(5000):
        value = _random_value(rng)
        assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False), value


@pytest.mark.parametrize("value", [{}, [], {"a": {}}, {"a": []}, [[]], {"a": [{}, {"b": None}]}, "plain", 3])
def test_empty_containers_and_bare_scalars(value):
    assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("value", [{1: "int key"}, {"a": {True: 1}}, {None: 1}, {2.5: "x"}])
def test_keys_that_are_not_text_are_json_dumps_own(value):
    assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_what_json_cannot_write_fails_as_json_dumps_does():
    with pytest.raises(TypeError):
        dumps_indented({"a": {1, 2}})


def test_a_funder_file_shape():
    doc = {"coalition": "Riverside", "quarter": "2026-Q3",
           "completeness": {"rows_accepted": 10, "tabs": {"attendance": {"rows_accepted": 10}}},
           "columns": ["metric_id", "value"],
           "metrics": [{"metric_id": "attendance_rate", "value": 0.8125, "n": 16, "suppressed": False},
                       {"metric_id": "voice_gap", "value": None, "n": 3, "suppressed": True}]}
    text = dumps_indented(doc)
    assert text == json.dumps(doc, indent=2, ensure_ascii=False)
    assert '\n    {\n      "metric_id": "attendance_rate",\n      "value": 0.8125,' in text


def test_rows_of_flat_objects_with_separator_look_alikes():
    """The one-call path for a list of flat objects: strings holding NUL, braces, commas, quotes and
    line breaks, and values that end like a closing brace, keep json.dumps's text."""
    rng = random.Random(7)
    tricky = ["}\x00{", "a}", "{", "}", "\x00", ",\n", '"}', "x\\", "}, {", "", "€"]
    for _ in range(2000):
        rows = [{rng.choice(KEYS + tricky) + str(i): rng.choice(SCALARS + tricky) for i in range(rng.randint(1, 4))}
                for _ in range(rng.randint(1, 5))]
        for value in (rows, {"metrics": rows}, {"a": {"b": rows}}):
            assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False), value


def test_rows_holding_subclasses_keep_json_dumps_text():
    """Rows whose values or keys are subclasses (numpy's float64, a str or dict subclass, an IntEnum),
    or a row that is empty or not a dict, leave the one-call path and are still json.dumps's text."""
    from collections import OrderedDict
    from enum import IntEnum

    import numpy as np

    class Text(str):
        pass

    class Level(IntEnum):
        LOW = 1

    cases = [[{"v": np.float64(0.1)}], [{Text("k"): 1}], [{"v": Text("=x")}], [OrderedDict(a=1)], [{"v": Level.LOW}],
             [{"a": 1}, {}], [{"a": 1}, [1]], [{"a": 1}, None], [{"a": [1]}], [{"a": {"b": 1}}]]
    for rows in cases:
        for value in (rows, {"metrics": rows}):
            assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False), value


def test_csv_rows_are_safe_csv_cell_of_each_cell():
    """cells.csv_text writes text and floats inline; every cell is still what safe_csv_cell writes,
    the lookalikes included (-0.0, NaN, a text subclass, a bool, a Decimal, a leading = + - @)."""
    import csv
    import io
    import random
    from decimal import Decimal

    from coalition_metrics.cells import csv_text, safe_csv_cell

    class Text(str):
        pass

    pool = ["", "a", "=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx", "'q", "a,b", 'say "hi"', Text("=x"), Text("y"),
            0.0, -0.0, 1.5, float("nan"), float("inf"), -float("inf"), 1e-300, 3, -3, True, False, None,
            Decimal("1.50"), Decimal("-0")]
    rng = random.Random(5)
    rows = [[rng.choice(pool) for _ in range(rng.randint(0, 6))] for _ in range(400)]
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(["h"])
    for row in rows:
        writer.writerow([safe_csv_cell(c) for c in row])
    assert csv_text(["h"], rows) == expected.getvalue()
