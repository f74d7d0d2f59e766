"""Percentage rollouts as flagd targeting: which variants are "on" and "off", the rule serving `on` to a
share of targeting keys, and reading that share back (pure: no I/O)."""

from __future__ import annotations

import copy
from typing import Any

from mamori.core.errors import ValidationFailed


def rollout_variants(flag: dict[str, Any]) -> tuple[str, str]:
    """The (on, off) variants of a flag for a percentage rollout: true/false values, else the two variants."""
    variants: dict[str, Any] = flag.get("variants", {})
    on = next((k for k, v in variants.items() if v is True), None)
    off = next((k for k, v in variants.items() if v is False), None)
    if on is None or off is None:
        if len(variants) != 2:
            raise ValidationFailed("a percentage rollout needs a boolean flag or a flag with exactly two variants")
        default = flag.get("defaultVariant")
        off = default if default in variants else next(iter(variants))
        on = next(k for k in variants if k != off)
    return on, off


def rollout_flag(flag: dict[str, Any], percent: int) -> dict[str, Any]:
    """The flag serving `on` to `percent`% of targeting keys (sticky per flag and key), `off` to the rest."""
    if not 0 <= percent <= 100:
        raise ValidationFailed(f"a rollout percentage is 0..100, not {percent}")
    on, off = rollout_variants(flag)
    new = copy.deepcopy(flag)
    new["state"] = "ENABLED"
    new["targeting"] = {"fractional": [[on, percent], [off, 100 - percent]]}
    return new


def rollout_percent(flag: dict[str, Any]) -> int | None:
    """The percentage of a rollout that `rollout_flag` made, or None for other targeting."""
    rule = flag.get("targeting") or {}
    buckets = rule.get("fractional") if isinstance(rule, dict) else None
    try:
        on, _off = rollout_variants(flag)
    except ValidationFailed:
        return None
    if isinstance(buckets, list) and len(buckets) == 2 and all(isinstance(b, list) and len(b) == 2 for b in buckets):
        weights = {b[0]: b[1] for b in buckets}
        if on in weights and isinstance(weights[on], int):
            total = sum(w for w in weights.values() if isinstance(w, int))
            return round(100 * weights[on] / total) if total else None
    return None
