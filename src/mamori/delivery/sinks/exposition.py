"""Prometheus text exposition (format 0.0.4) of samples: one HELP and TYPE per metric name, label values
escaped (backslash, double quote, newline), names checked (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from mamori.delivery.sinks.samples import Sample

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


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


def render(samples: Sequence[Sample]) -> str:
    """The exposition text; samples of one name are grouped under one HELP/TYPE in first-seen order."""
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        if not NAME.match(s.name):
            raise ValueError(f"{s.name!r} is not a Prometheus metric name")
        bad = [k for k in s.labels if not LABEL.match(k) or k.startswith("__")]
        if bad:
            raise ValueError(f"{s.name}: {bad} are not Prometheus label names")
        groups.setdefault(s.name, []).append(s)
    lines: list[str] = []
    for name, group in groups.items():
        first = group[0]
        if first.help:
            lines.append(f"# HELP {name} {_escape_help(first.help)}")
        lines.append(f"# TYPE {name} {first.kind}")
        for s in group:
            labels = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sorted(s.labels.items()))
            lines.append(f"{name}{{{labels}}} {_value(s.value)}" if labels else f"{name} {_value(s.value)}")
    return "\n".join(lines) + "\n" if lines else ""
