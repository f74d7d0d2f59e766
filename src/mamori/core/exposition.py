"""Prometheus text exposition, format 0.0.4 (pure): the metric families every domain contributes through
`Plugin.metrics`, rendered with one HELP and one TYPE line per name, label values escaped (backslash, double
quote, newline), names and label names checked, and no series given twice.

A family is what a domain computes now (a gauge of an SLO's remaining budget, MTTA over the last 28 days):
Mamori serves figures, not event counters, so most families are gauges.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MetricType = Literal["gauge", "counter", "untyped"]


class ExpositionError(ValueError):
    """A family that cannot be exposed as given (bad name, bad label, a series twice, a type clash)."""


@dataclass
class MetricFamily:
    """One metric name with its HELP text, TYPE and samples (label set -> value)."""

    name: str
    help: str
    type: MetricType = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ExpositionError(f"{self.name!r} is not a Prometheus metric name")

    def add(self, value: float | None, labels: Mapping[str, str | None] | None = None) -> MetricFamily:
        """Add one sample; a None value (a figure without data) adds nothing, a None label value is left out."""
        if value is None:
            return self
        clean = {k: str(v) for k, v in (labels or {}).items() if v is not None}
        bad = sorted(k for k in clean if not LABEL.match(k) or k.startswith("__"))
        if bad:
            raise ExpositionError(f"{self.name}: {bad} are not Prometheus label names")
        self.samples.append((clean, float(value)))
        return self


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def merge(families: Iterable[MetricFamily]) -> list[MetricFamily]:
    """Families of one name joined into one (first HELP wins); a type clash or a series given twice is an
    error naming the family and the labels."""
    out: dict[str, MetricFamily] = {}
    seen: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for fam in families:
        target = out.get(fam.name)
        if target is None:
            target = out[fam.name] = MetricFamily(fam.name, fam.help, fam.type)
            seen[fam.name] = set()
        elif target.type != fam.type:
            raise ExpositionError(f"{fam.name} is given as {target.type} and as {fam.type}")
        for labels, value in fam.samples:
            key = tuple(sorted(labels.items()))
            if key in seen[fam.name]:
                raise ExpositionError(f"{fam.name}{dict(key)} is given twice")
            seen[fam.name].add(key)
            target.samples.append((labels, value))
    return list(out.values())


def render(families: Iterable[MetricFamily]) -> str:
    """The exposition text of these families (merged by name, in first-seen order; empty families keep
    their HELP and TYPE so that a scrape shows what exists)."""
    lines: list[str] = []
    for fam in merge(families):
        if fam.help:
            lines.append(f"# HELP {fam.name} {_escape_help(fam.help)}")
        lines.append(f"# TYPE {fam.name} {fam.type}")
        for labels, value in fam.samples:
            text = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{fam.name}{{{text}}} {_value(value)}" if text else f"{fam.name} {_value(value)}")
    return "\n".join(lines) + "\n" if lines else ""
