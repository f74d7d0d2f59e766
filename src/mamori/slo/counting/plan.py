"""A count plan: what ingest needs for one configuration, built once with `plan_for`. No I/O.

The plan holds the objectives by service, the fields the SLIs read, the generated key functions
(`keys`), the columnar decoder (`columns`) and the timestamp caches it shares with the runtime (`stamps`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from mamori.slo import filter as event_filter
from mamori.slo.counting.columns import Columns
from mamori.slo.counting.keys import MISSING_FIELD, Path, Use, scanner_source
from mamori.slo.counting.stamps import Stamps
from mamori.slo.definitions import CompiledObjective


@dataclass
class CountPlan:
    """What ingest needs, built once per configuration with `plan_for`."""

    services: dict[str, list[CompiledObjective]]
    paths: list[tuple[Path, Use]]
    keyof: Callable[[dict[str, Any], str, Any], tuple[Any, ...]]
    scan: Callable[[Iterable[bytes], Callable[[int, bytes], Any]], Iterator[tuple[Any, ...]]]
    columns: Columns | None = None
    stamps: Stamps = field(default_factory=Stamps)


def plan_for(objectives: list[CompiledObjective], stamps: Stamps | None = None) -> CountPlan:
    """The plan for these objectives; `stamps` are the runtime's timestamp caches (a fresh set when None)."""
    stamps = Stamps() if stamps is None else stamps
    services: dict[str, list[CompiledObjective]] = {}
    uses: event_filter.FieldUses = {}
    for objective in objectives:
        if objective.counter is None:
            continue
        services.setdefault(objective.counter.service, []).append(objective)
        event_filter.merge_uses(uses, objective.counter.uses)
        if objective.slice_by:
            event_filter.merge_uses(uses, {objective.slice_by: None})
    paths: list[tuple[Path, Use]] = [
        (path, tuple(sorted(use)) if isinstance(use, frozenset) else use) for path, use in sorted(uses.items())
    ]
    scope: dict[str, Any] = {
        "M": MISSING_FIELD,
        "bisect": bisect_left,
        "loads": orjson.loads,
        "tails": stamps.tails,
        "prefixes": stamps.prefixes,
    }
    for i, (_path, use) in enumerate(paths):
        if isinstance(use, tuple):
            scope[f"C{i}"], scope[f"S{i}"] = list(use), frozenset(use)
            scope.update({f"C{i}_{j}": c for j, c in enumerate(use)})
    exec(compile(scanner_source(paths), "<slo-scan>", "exec"), scope)  # noqa: S102 - from parsed paths only
    return CountPlan(services, paths, scope["keyof"], scope["scan"], Columns.build(paths, stamps), stamps)
