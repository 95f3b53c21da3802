"""The survey instrument: the items a coalition's survey asks and the composite scales built on them.

Read from the config ([survey], [survey_items], [survey_scales]; docs/data-contract.md) by
config.py, which checks it at start: every bad value is a ConfigError naming the setting. Nothing
outside config.py names an item: validation, the template, load.py (ref.survey_* tables), the SQL
models, the report and the funder files all read the instrument.

- An item: code, question text (the Forms column header), answer scale (min, max), optional labels
  (one per point, answers may be typed as the label), reverse-scored or not, funder-visible or not.
- A scale: code, name, member items, min_items (a response's score counts when it answered at least
  this many of them; default all), interpretation bands ({label, min}, by min descending: a score's
  band is the first whose min <= score), funder-visible or not.
- Roles: the item satisfaction_mean rests on, the item voice_gap rests on, the item the survey chart
  plots beside satisfaction; None = none (those figures are "no data").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import parsing
from .errors import ConfigError

# Float noise allowed when a mean is read against a band's min (the SQL uses the same 1e-9).
BAND_TOLERANCE = 1e-9
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# Column names the survey tab already has in raw.survey and the validation frame.
RESERVED = ("timestamp", "respondent", "sheet_row", "snapshot_id", "is_blank", "sheet_column", "row", "record")
ITEM_KEYS = ("question", "scale", "labels", "reverse", "funder")
SCALE_KEYS = ("name", "items", "bands", "funder", "min_items")
# [survey] keys naming an item, with the figures resting on each.
ROLES = {"satisfaction_item": "satisfaction_mean and satisfaction_change",
         "voice_item": "voice_gap",
         "trust_item": "the survey chart's second line"}


@dataclass(frozen=True)
class SurveyItem:
    code: str
    question: str
    scale_min: int
    scale_max: int
    labels: tuple[str, ...] = ()
    reverse: bool = False
    funder: bool = True

    def parse(self, text) -> float | None:
        """An answer as typed -> its number on the item's raw scale (parsing.parse_answer)."""
        return parsing.parse_answer(text, self.scale_min, self.scale_max, self.labels)

    def score(self, answer: float | None) -> float | None:
        """The scored answer: reversed (min + max - answer) for a reverse-scored item."""
        if answer is None or not self.reverse:
            return answer
        return self.scale_min + self.scale_max - answer

    @property
    def scale_text(self) -> str:
        return f"{self.scale_min}-{self.scale_max}"


@dataclass(frozen=True)
class Band:
    label: str
    min: float


@dataclass(frozen=True)
class SurveyScale:
    code: str
    name: str
    items: tuple[str, ...]
    bands: tuple[Band, ...] = ()
    funder: bool = True
    min_items: int = 0

    def band_rule(self) -> str:
        """The bands in words: 'strength 4.0 and above; borderline 3.0 to below 4.0; concern 1.0 to below 3.0'."""
        def num(v: float) -> str:
            return f"{v:.1f}" if round(v * 10) == v * 10 else f"{v:g}"

        parts = []
        for i, band in enumerate(self.bands):
            if i == 0:
                parts.append(f"{band.label} {num(band.min)} and above")
            else:
                parts.append(f"{band.label} {num(band.min)} to below {num(self.bands[i - 1].min)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Instrument:
    items: tuple[SurveyItem, ...]
    scales: tuple[SurveyScale, ...] = ()
    satisfaction_item: str | None = None
    voice_item: str | None = None
    trust_item: str | None = None

    def item(self, code: str) -> SurveyItem:
        for i in self.items:
            if i.code == code:
                return i
        raise KeyError(code)

    def scale(self, code: str) -> SurveyScale:
        for s in self.scales:
            if s.code == code:
                return s
        raise KeyError(code)

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items)

    def band_of(self, scale_code: str, value: float | None) -> str | None:
        """The first band (by min descending) whose min <= value; None below every band or no value.
        Compared to BAND_TOLERANCE, as survey_scales_by_wave.sql does: a mean of exactly 3.0 computed
        as 2.9999999999999996 is 3.0, not below it."""
        if value is None:
            return None
        for band in self.scale(scale_code).bands:
            if band.min <= value + BAND_TOLERANCE:
                return band.label
        return None


# ----------------------------------------------------------------------------------------------
def build_instrument(data: dict[str, Any], defaults: dict[str, str], where: str,
                     default_roles: dict[str, str] | None = None) -> Instrument:
    """The instrument the settings declare; ConfigError naming the setting for any bad value.

    ``defaults`` is the default instrument (item code -> question), part of it when [survey]
    default_items is true; ``default_roles`` the roles' default values (config.DEFAULTS), which
    leave a figure "no data" rather than fail when the instrument lacks their item."""
    default_roles = default_roles or {}
    survey = data["survey"]
    lo, hi = survey["scale_min"], survey["scale_max"]
    declared = dict(data["survey_items"])
    legacy = {code: v for code, v in data["survey_scales"].items() if isinstance(v, list)}
    composite = {code: v for code, v in data["survey_scales"].items() if not isinstance(v, list)}

    codes = list(defaults) if survey["default_items"] else []
    codes += [c for c in declared if c not in codes]
    if not codes:
        raise ConfigError(f"{where}: the survey has no items: [survey] default_items is false and [survey_items] is "
                          f"empty. Declare each question as [survey_items] code = \"question text\".")
    items = [_item(code, declared.get(code), defaults.get(code) if survey["default_items"] else None,
                   legacy.get(code) or [], lo, hi, where) for code in codes]
    for code, value in legacy.items():
        if value and code not in codes:
            raise ConfigError(f"{where}: [survey_scales] {code} = {value!r} gives the answer range of an item "
                              f"{code!r}, but the survey has no such item (its items: {', '.join(codes)}).")
    by_code = {i.code: i for i in items}
    scales = [_scale(code, spec, by_code, where) for code, spec in composite.items()]

    roles = {}
    for key in ROLES:
        value = survey[key].strip()
        if not value:
            roles[key] = None
        elif value in by_code:
            roles[key] = value
        elif value == default_roles.get(key):
            roles[key] = None  # the default names a default item this instrument lacks: "no data"
        else:
            raise ConfigError(f"{where}: [survey] {key} = {value!r} names no survey item; {ROLES[key]} rest on it. "
                              f"Set it to one of {', '.join(codes)}, or \"\" for none.")
    return Instrument(tuple(items), tuple(scales), roles["satisfaction_item"], roles["voice_item"],
                      roles["trust_item"])


def _check_code(code: str, setting: str, where: str) -> None:
    if not CODE.match(code) or "__" in code:  # <col>__value / __invalid are validation's derived columns
        raise ConfigError(f"{where}: {setting}: {code!r} is not a usable code; write lower-case letters, digits and "
                          f"single underscores, starting with a letter (like \"equity\" or \"trust_2\").")
    if code in RESERVED:
        raise ConfigError(f"{where}: {setting}: {code!r} is a column name the survey tab already uses; pick "
                          f"another code.")


def _range(value, setting: str, where: str) -> tuple[int, int]:
    if not (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value) and value[0] < value[1]):
        raise ConfigError(f"{where}: {setting} must be [min, max] whole numbers with min < max (like [1, 7]), "
                          f"not {value!r}.")
    return value[0], value[1]


def _item(code: str, spec, default_question: str | None, legacy: list, lo: int, hi: int, where: str) -> SurveyItem:
    setting = f"[survey_items] {code}"
    _check_code(code, setting, where)
    if legacy:
        lo, hi = _range(legacy, f"[survey_scales] {code}", where)
    if spec is None:
        spec = default_question
    if isinstance(spec, str):
        spec = {"question": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: {setting} must be the question text, or a table like {{ question = \"...\", "
                          f"scale = [1, 5] }}, not {spec!r}.")
    unknown = [k for k in spec if k not in ITEM_KEYS]
    if unknown:
        raise ConfigError(f"{where}: {setting} has unknown key(s) {', '.join(unknown)}; an item takes "
                          f"{', '.join(ITEM_KEYS)}.")
    question = spec.get("question", default_question)
    if not isinstance(question, str) or not question.strip():
        raise ConfigError(f"{where}: {setting} has no question text; set question to the question as in the column "
                          f"header of the response sheet.")
    if "scale" in spec:
        if legacy:
            raise ConfigError(f"{where}: {setting} sets scale and [survey_scales] {code} sets it again; keep one.")
        lo, hi = _range(spec["scale"], f"{setting} scale", where)
    labels = spec.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels):
        raise ConfigError(f"{where}: {setting} labels must be a list of texts, one per point of the scale, "
                          f"not {labels!r}.")
    if labels and len(labels) != hi - lo + 1:
        raise ConfigError(f"{where}: {setting} has {len(labels)} labels for the {hi - lo + 1} points of its scale "
                          f"{lo}-{hi}; give exactly one label per point, lowest first.")
    keys = [parsing.norm_key(x) for x in labels]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{where}: {setting} labels repeat a label ({labels!r}); an answer typed as it could not "
                          f"be read as one number.")
    for point, label in enumerate(labels, start=lo):
        number = parsing.parse_number(label)
        if number is not None and number != point:
            raise ConfigError(f"{where}: {setting} label {label!r} reads as the number {number:g} but names point "
                              f"{point} of the scale; an answer typed {label!r} could mean either. Give the labels "
                              f"lowest point first, as words or as the points' own numbers.")
    for key in ("reverse", "funder"):
        if key in spec and not isinstance(spec[key], bool):
            raise ConfigError(f"{where}: {setting} {key} must be true or false, not {spec[key]!r}.")
    return SurveyItem(code, question.strip(), lo, hi, tuple(x.strip() for x in labels),
                      bool(spec.get("reverse", False)), bool(spec.get("funder", True)))


def _scale(code: str, spec, items: dict[str, SurveyItem], where: str) -> SurveyScale:
    setting = f"[survey_scales] {code}"
    _check_code(code, setting, where)
    if code in items:
        raise ConfigError(f"{where}: {setting}: {code!r} is also an item code; give the scale a code of its own "
                          f"(like \"{code}_score\"). For an item's answer range write {code} = [min, max].")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: {setting} must be a table like {{ name = \"Trust\", items = [\"a\", \"b\"] }} "
                          f"or, for an item's answer range, [min, max]; not {spec!r}.")
    unknown = [k for k in spec if k not in SCALE_KEYS]
    if unknown:
        raise ConfigError(f"{where}: {setting} has unknown key(s) {', '.join(unknown)}; a scale takes "
                          f"{', '.join(SCALE_KEYS)}.")
    name = spec.get("name", code)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: {setting} name must be a text, not {name!r}.")
    members = spec.get("items")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise ConfigError(f"{where}: {setting} items must list the codes of its items, like [\"trust\", \"openness\"].")
    for m in members:
        if m not in items:
            raise ConfigError(f"{where}: {setting} items names {m!r}, which is not a survey item (the items: "
                              f"{', '.join(items)}).")
    if len(set(members)) != len(members):
        raise ConfigError(f"{where}: {setting} items lists an item twice: {members!r}.")
    ranges = {(items[m].scale_min, items[m].scale_max) for m in members}
    if len(ranges) > 1:
        raise ConfigError(f"{where}: {setting} mixes items answered on different scales "
                          f"({', '.join(sorted(f'{a}-{b}' for a, b in ranges))}); the mean of such answers means nothing. "
                          f"Put only items on one scale in it.")
    min_items = spec.get("min_items", len(members))
    if not isinstance(min_items, int) or isinstance(min_items, bool) or not 1 <= min_items <= len(members):
        raise ConfigError(f"{where}: {setting} min_items must be a whole number from 1 to {len(members)} (its number "
                          f"of items), not {min_items!r}.")
    bands_spec = spec.get("bands", [])
    if not isinstance(bands_spec, list):
        raise ConfigError(f"{where}: {setting} bands must be a list like [{{ label = \"strength\", min = 4.0 }}, ...].")
    bands = []
    for b in bands_spec:
        if not (isinstance(b, dict) and set(b) == {"label", "min"} and isinstance(b["label"], str) and b["label"].strip()
                and isinstance(b["min"], (int, float)) and not isinstance(b["min"], bool)):
            raise ConfigError(f"{where}: {setting} bands: each band is {{ label = \"strength\", min = 4.0 }}, not {b!r}.")
        bands.append(Band(b["label"].strip(), float(b["min"])))
    for before, after in zip(bands, bands[1:]):
        if not before.min > after.min:
            raise ConfigError(f"{where}: {setting} bands must be ordered by min, highest first, with no min twice: "
                              f"{before.label!r} ({before.min:g}) comes before {after.label!r} ({after.min:g}).")
    if len({b.label for b in bands}) != len(bands):
        raise ConfigError(f"{where}: {setting} bands repeat a label.")
    if "funder" in spec and not isinstance(spec["funder"], bool):
        raise ConfigError(f"{where}: {setting} funder must be true or false, not {spec['funder']!r}.")
    return SurveyScale(code, name.strip(), tuple(members), tuple(bands), bool(spec.get("funder", True)), min_items)
