"""The published JSON files' text: ``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte,
written faster.

With ``indent`` the standard library leaves its C encoder for a pure-Python one, about 50 ms for
one coalition's funder_metrics.json (745 figures), which a portfolio of 1,000 pays 1,000 times.
Here only the layout is Python: every scalar (and every key) is encoded by the C encoder, and the
lines are those json.dumps writes. Anything this does not lay out itself (keys that are not text,
values that are not JSON) goes to json.dumps, so the text is always json.dumps's.
"""

from __future__ import annotations

import json
from itertools import chain
from json.encoder import encode_basestring as _text  # the C function where CPython has it, as json.dumps uses

_INF = float("inf")


def dumps_indented(value) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, the same text."""
    parts: list[str] = []
    try:
        _emit(value, "", parts)
    except _NotPlain:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(parts)


class _NotPlain(Exception):
    pass


def _scalar(value) -> str | None:
    """A scalar as json.dumps writes it; None for a container (or anything else)."""
    if isinstance(value, str):
        return _text(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value == _INF:
            return "Infinity"
        if value == -_INF:
            return "-Infinity"
        return float.__repr__(value)
    return None


_SEP = json.JSONEncoder(ensure_ascii=False, separators=("\x00", ": "))  # NUL is escaped in any string


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def _flat_rows(value: list) -> bool:
    """A non-empty list of non-empty dicts with text keys and scalar values (exactly those types: a
    subclass, numpy's float64 say, takes _emit's item-by-item path, which writes it as json.dumps does).
    Checked by type sets built in C, not value by value in Python: the example's funder_metrics.json
    has about 9,000 values."""
    return (bool(value) and set(map(type, value)) == {dict} and all(value)
            and set(map(type, chain.from_iterable(value))) == {str}
            and set(map(type, chain.from_iterable(map(dict.values, value)))) <= _PLAIN_TYPES)


def _rows(value: list, pad: str) -> str:
    """A non-empty list of flat dicts (funder_metrics.json's metrics, the quarantine's cells) by ONE
    call of the C encoder: items are separated by NUL, which the encoder writes nowhere else (a
    string's NUL is escaped), and a separator between two rows is the only one between "}" and
    "{" (a row's values are scalars, none of which ends with "}"); each becomes json.dumps's line
    break and indent."""
    row, field = pad + "  ", pad + "    "
    body = _SEP.encode(value)
    body = body.replace("}\x00{", f"\n{row}}},\n{row}{{\n{field}").replace("\x00", f",\n{field}")
    return f"[\n{row}{{\n{field}" + body[2:-2] + f"\n{row}}}\n{pad}]"


def _emit(value, pad: str, parts: list[str]) -> None:
    text = _scalar(value)
    if text is not None:
        parts.append(text)
        return
    if type(value) is list and _flat_rows(value):
        parts.append(_rows(value, pad))
        return
    inner = pad + "  "
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        sep = "{\n" + inner
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotPlain
            parts.append(sep + _text(key) + ": ")
            sep = ",\n" + inner
            _emit(item, inner, parts)
        parts.append("\n" + pad + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            parts.append("[]")
            return
        sep = "[\n" + inner
        for item in value:
            parts.append(sep)
            sep = ",\n" + inner
            _emit(item, inner, parts)
        parts.append("\n" + pad + "]")
    else:
        raise _NotPlain
