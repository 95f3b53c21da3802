"""The metric registry (transforms/metrics.yml): the only place a metric's id, unit and audience live."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .config import PROJECT_ROOT

REGISTRY_FILE = PROJECT_ROOT / "transforms" / "metrics.yml"
UNITS = ("share", "score", "difference", "count", "flag", "index", "p_value")
DIMENSIONS = ("none", "kind", "counted_kind", "member", "source", "item", "scale", "goal", "milestone_kind")
# [survey] settings naming the item a metric rests on (metrics.yml "role")
ROLES = ("satisfaction_item", "voice_item")
SECTIONS = ("meetings", "attendance", "engagement", "tasks", "leadership", "survey", "goals", "milestones")


@dataclass(frozen=True)
class Metric:
    id: str
    name: str
    unit: str
    audience: str
    survey: bool
    model: str
    template: str  # metrics.yml's definition, quoting settings as {name} (definition_values)
    dimension: str = "none"
    overall: bool = True
    section: str = "attendance"
    headline: bool = False
    role: str | None = None  # the [survey] role naming the item it rests on (ROLES)

    @property
    def definition(self) -> str:
        """The definition with the default settings (docs/metrics.md)."""
        return self.described(None)

    def described(self, settings) -> str:
        """The definition as a coalition with ``settings`` computes the metric: the thresholds and
        counts it quotes are that coalition's ([metrics] alert_drop, small_n, ...), the defaults
        for None."""
        return self.template.format_map(definition_values(settings))

    def format(self, value) -> str:
        """How a value of this metric is shown to a person."""
        if value is None:
            return "no data"
        if self.unit == "share":
            return f"{value:.0%}"
        if self.unit == "score":
            return f"{value:.2f}"
        if self.unit == "difference":
            return f"{value:+.2f}"
        if self.unit == "flag":
            return "yes" if value else "no"
        if self.unit == "index":
            return f"{value:.2f}"
        if self.unit == "p_value":
            return "< 0.001" if value < 0.001 else f"{value:.3f}"
        return f"{value:,.0f}"


def definition_values(settings) -> dict[str, str]:
    """The settings a definition in metrics.yml quotes, written as it quotes them: {alert_drop_points}
    ("25" for 0.25), {alert_absences}, {champion_share} and {on_track_margin} ("0.40"), {small_n},
    {voice_gap_waves} ("four waves") and {cadence} ("weekly_call 13, monthly_call 3, ...")."""
    from .config import DEFAULTS

    data = DEFAULTS if settings is None else settings.data
    metrics, cadence = data["metrics"], data["cadence"]
    waves = int(metrics["voice_gap_waves"])
    return {
        "small_n": str(int(metrics["small_n"])),
        "alert_drop_points": _plain(metrics["alert_drop"] * 100),
        "alert_absences": str(int(metrics["alert_absences"])),
        "champion_share": _share(metrics["champion_share"]),
        "on_track_margin": _share(metrics["on_track_margin"]),
        "voice_gap_waves": f"{_WORDS[waves] if waves < len(_WORDS) else waves} wave{'' if waves == 1 else 's'}",
        "cadence": ", ".join(f"{kind} {_plain(n)}" for kind, n in cadence.items() if n) or "none",
    }


_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def _plain(x: float) -> str:
    """25.0 -> "25", 12.5 -> "12.5"."""
    return f"{round(float(x), 6):g}"


def _share(x: float) -> str:
    """0.4 -> "0.40", 0.333 -> "0.333": two decimals at least, and every one the setting has."""
    x = float(x)
    return f"{x:.2f}" if round(x, 2) == round(x, 6) else _plain(x)


def suppressed_label(small_n: int) -> str:
    """How a figure suppressed by the small-n rule is shown: "n<5" with [metrics] small_n = 5."""
    return f"n<{int(small_n)}"


def base_id(published_id: str) -> str:
    """'meetings_held[weekly_call]' -> 'meetings_held'."""
    return published_id.split("[", 1)[0]


@lru_cache(maxsize=1)
def load_registry() -> tuple[Metric, ...]:
    import yaml

    doc = yaml.safe_load(REGISTRY_FILE.read_text(encoding="utf-8"))
    metrics = []
    seen = set()
    for entry in doc["metrics"]:
        m = Metric(
            id=entry["id"], name=entry["name"], unit=entry["unit"], audience=entry["audience"],
            survey=bool(entry["survey"]), model=entry["model"], template=" ".join(entry["definition"].split()),
            dimension=entry.get("dimension", "none"), overall=bool(entry.get("overall", True)),
            section=entry["section"], headline=bool(entry.get("headline", False)), role=entry.get("role"),
        )
        if m.role is not None and m.role not in ROLES:
            raise ValueError(f"metrics.yml: {m.id} has role {m.role!r}; use one of {ROLES}")
        if m.unit not in UNITS:
            raise ValueError(f"metrics.yml: {m.id} has unit {m.unit!r}; use one of {UNITS}")
        if m.dimension not in DIMENSIONS or m.section not in SECTIONS or m.audience not in ("funder", "coordinator"):
            raise ValueError(f"metrics.yml: {m.id} has an unknown dimension, section or audience")
        try:
            m.definition
        except (KeyError, ValueError, IndexError) as exc:
            raise ValueError(f"metrics.yml: {m.id}'s definition quotes an unknown setting: {exc}") from None
        if m.id in seen:
            raise ValueError(f"metrics.yml: {m.id} is defined twice")
        if not (PROJECT_ROOT / "transforms" / m.model).is_file():
            raise ValueError(f"metrics.yml: {m.id} names model {m.model}, which does not exist")
        seen.add(m.id)
        metrics.append(m)
    return tuple(metrics)


def metric(metric_id: str) -> Metric:
    """The registry entry of a plain or dimensioned id ('attendance_rate[weekly_call]')."""
    wanted = base_id(metric_id)
    for m in load_registry():
        if m.id == wanted:
            return m
    raise KeyError(metric_id)


def funder_metrics() -> list[Metric]:
    return [m for m in load_registry() if m.audience == "funder"]
