"""A CSV file without quotes is split column-wise (csv_folder.uniform_columns); every file it takes
gives exactly what the csv module's rows give (split_columns(read_csv_text(...))), and it leaves
every other file (quotes, lone carriage returns, ragged lines, one column) to the csv module."""

import random
from pathlib import Path

from coalition_metrics.sources import split_columns
from coalition_metrics.sources.csv_folder import read_csv_columns, read_csv_text, uniform_columns

ODD = ["a", " ", "é", "1", "/", ",", '"', "\r", "\n", "\r\n", "x y", "\t", "", "\x00", "\u2028", "\x0c"]


def _random_csv(rng: random.Random) -> str:
    width, rows = rng.randint(1, 5), rng.randint(0, 6)
    lines = []
    for _ in range(rows + 1):
        w = width if rng.random() > 0.1 else rng.randint(1, 6)
        cells = ["".join(rng.choice(["a", "b", " ", "é", "1", "", "  "]) for _ in range(rng.randint(0, 3)))
                 for _ in range(w)]
        if rng.random() < 0.05:
            cells = [rng.choice(ODD) for _ in range(w)]
        lines.append(",".join(cells))
    sep = "\r\n" if rng.random() < 0.2 else "\n"
    text = sep.join(lines) + (sep if rng.random() < 0.5 else "")
    return text + sep * 2 if rng.random() < 0.05 else text


def test_the_column_wise_split_equals_the_csv_module_on_every_file_it_takes():
    rng = random.Random(13)
    taken = left = 0
    for _ in range(6000):
        text = _random_csv(rng)
        got = uniform_columns(text)
        if got is None:
            left += 1
            continue
        taken += 1
        expected = split_columns(read_csv_text(text, Path("t.csv"), "t"))
        assert tuple(got) == tuple(expected), repr(text)
        assert tuple(read_csv_columns(text, Path("t.csv"), "t")) == tuple(expected)
    assert taken > 2000 and left > 500  # both ways are exercised


def test_files_it_leaves_to_the_csv_module():
    for text in ['id,name\n1,"Smith, Jones"\n', "id,name\r1,a\r", "id,name\n1,a,b\n", "id\n1\n2\n",
                 "id,name\n\n1,a\n", "id,name\n1,a\x00\n", "id,name"]:
        assert uniform_columns(text) is None, repr(text)
    header, columns, rows, lengths = uniform_columns("id,name\r\n1, a \r\n2,\r\n,\r\n , \r\n")
    assert (header, columns, rows, lengths) == (["id", "name"], [["1", "2"], [" a ", ""]], [2, 3], None)


def test_a_cell_of_any_length_is_read_with_or_without_quotes():
    """A 200,000-character note: the csv module's default limit (131,072) stopped the run with a
    traceback when the file had a quote anywhere; now both ways read it whole."""
    note = "x" * 200_000
    plain = read_csv_columns(f"id,note\n1,{note}\n", Path("t.csv"), "t")
    quoted = read_csv_columns(f'id,note\n1,"{note}"\n2,"a, b"\n', Path("t.csv"), "t")
    assert plain[1][1] == [note] and quoted[1][1] == [note, "a, b"]
