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
