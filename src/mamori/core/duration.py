"""Durations as people write them in config: 30s, 5m, 1h, 2d, 1w, and combinations like 1h30m."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_SECONDS = 10 * 366 * 86400
"""No configured duration is longer than ten years (a typo like 999999999d is an error, not an overflow)."""
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text: str | int | float) -> timedelta:
    """Parse `5m`, `1h30m`, `2d`; a bare number is seconds. Raises ValueError with what was expected."""
    if isinstance(text, bool):
        raise ValueError("expected a duration like 30s, 5m, 1h or 2d")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        if text > MAX_SECONDS:
            raise ValueError("a duration is at most ten years")
        return timedelta(seconds=text)
    raw = text.strip()
    if not raw:
        raise ValueError("expected a duration like 30s, 5m, 1h or 2d, got an empty string")
    pos, total = 0, 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw):
        raise ValueError(f"expected a duration like 30s, 5m, 1h or 2d, got {text!r}")
    if total > MAX_SECONDS:
        raise ValueError(f"a duration is at most ten years, got {text[:40]!r}")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """The shortest exact form: 300s -> 5m, 5400s -> 90m, 86400s -> 1d."""
    seconds = delta.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _validate(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_validate), PlainSerializer(format_duration, return_type=str)]
"""A pydantic field type that accepts `5m` and serialises back to `5m`."""


def _positive(value: Any) -> timedelta:
    delta = _validate(value)
    if delta <= timedelta(0):
        raise ValueError("expected a duration longer than zero, like 1s or 5m")
    return delta


PositiveDuration = Annotated[timedelta, BeforeValidator(_positive), PlainSerializer(format_duration, return_type=str)]
"""A Duration that must be longer than zero (a rate limit's window, an escalation step's wait)."""
