"""The metric registry (transforms/metrics.yml): the only place a metric's id, unit and audience live."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .config import PROJECT_ROOT

REGISTRY_FILE = PROJECT_ROOT / "transforms" / "metrics.yml"
UNITS = ("share", "score", "count")


@dataclass(frozen=True)
class Metric:
    id: str
    name: str
    unit: str
    audience: str
    survey: bool
    model: str
    definition: str

    def format(self, value) -> str:
        """How a value of this metric is shown to a person."""
        if value is None:
            return "no data"
        if self.unit == "share":
            return f"{value:.0%}"
        if self.unit == "score":
            return f"{value:.2f}"
        return f"{value:,.0f}"


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
        )
        if m.unit not in UNITS:
            raise ValueError(f"metrics.yml: {m.id} has unit {m.unit!r}; use one of {UNITS}")
        if m.id in seen:
            raise ValueError(f"metrics.yml: {m.id} is defined twice")
        if not (PROJECT_ROOT / "transforms" / m.model).is_file():
            raise ValueError(f"metrics.yml: {m.id} names model {m.model}, which does not exist")
        seen.add(m.id)
        metrics.append(m)
    return tuple(metrics)


def metric(metric_id: str) -> Metric:
    for m in load_registry():
        if m.id == metric_id:
            return m
    raise KeyError(metric_id)


def funder_metrics() -> list[Metric]:
    return [m for m in load_registry() if m.audience == "funder"]
