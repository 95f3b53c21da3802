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
    definition: str
    dimension: str = "none"
    overall: bool = True
    section: str = "attendance"
    headline: bool = False
    role: str | None = None  # the [survey] role naming the item it rests on (ROLES)

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
            survey=bool(entry["survey"]), model=entry["model"], definition=" ".join(entry["definition"].split()),
            dimension=entry.get("dimension", "none"), overall=bool(entry.get("overall", True)),
            section=entry["section"], headline=bool(entry.get("headline", False)), role=entry.get("role"),
        )
        if m.role is not None and m.role not in ROLES:
            raise ValueError(f"metrics.yml: {m.id} has role {m.role!r}; use one of {ROLES}")
        if m.unit not in UNITS:
            raise ValueError(f"metrics.yml: {m.id} has unit {m.unit!r}; use one of {UNITS}")
        if m.dimension not in DIMENSIONS or m.section not in SECTIONS or m.audience not in ("funder", "coordinator"):
            raise ValueError(f"metrics.yml: {m.id} has an unknown dimension, section or audience")
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
