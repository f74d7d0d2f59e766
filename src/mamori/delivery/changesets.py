"""Which commits each deploy shipped: the previous successful deploy of the same scope, and the commits
between the two (pure; the commit walk is passed in).

A scope is where a version runs (service and environment in Mamori; DevLake's CI scope, repository and
environment). Deploys are ordered by start, as DevLake orders them; a failed deploy has no previous
success of its own and ships nothing. A deploy with no previous success ships nothing either: what it
brought cannot be told from the history (DevLake's rule too).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DeployPoint:
    id: str
    scope: Hashable
    sha: str | None
    started_at: datetime
    finished_at: datetime | None
    succeeded: bool


def previous_success(deploys: Sequence[DeployPoint]) -> dict[str, str | None]:
    """Deploy id -> the id of the latest successful deploy of its scope that started before it."""
    out: dict[str, str | None] = {}
    last: dict[Hashable, str] = {}
    for d in sorted(deploys, key=lambda d: (d.started_at, d.id)):
        if not d.succeeded:
            out[d.id] = None
            continue
        out[d.id] = last.get(d.scope)
        last[d.scope] = d.id
    return out


def shipped(
    deploys: Sequence[DeployPoint],
    between: Callable[[str, str], Sequence[str]],
) -> dict[str, str]:
    """Commit sha -> the first deploy (by finish) that shipped it. `between(old, new)` lists the commits
    reachable from `new` and not from `old` (as `git log old..new`)."""
    by_id = {d.id: d for d in deploys}
    prev = previous_success(deploys)
    out: dict[str, str] = {}
    ordered = sorted(
        (d for d in deploys if d.succeeded and d.sha and prev.get(d.id)),
        key=lambda d: (d.finished_at or d.started_at, d.id),
    )
    for d in ordered:
        before = by_id[prev[d.id] or ""]
        if not before.sha or d.sha is None:
            continue
        for sha in between(before.sha, d.sha):
            out.setdefault(sha, d.id)
    return out


def chain_depths(parents: dict[str, str | None]) -> dict[str, int]:
    """How many first-parent steps each commit is from the first known commit of its chain (0 for a commit
    whose parent is unknown); a cycle ends a chain. Computed once, so a walk that cannot meet its `old` commit
    stops at once instead of going down to the root."""
    depths: dict[str, int] = {}
    for start in parents:
        path: list[str] = []
        on_path: set[str] = set()
        sha: str | None = start
        while sha is not None and sha not in depths and sha not in on_path and sha in parents:
            path.append(sha)
            on_path.add(sha)
            sha = parents[sha]
        base = depths[sha] + 1 if sha is not None and sha in depths else 0
        for offset, item in enumerate(reversed(path)):
            depths[item] = base + offset
    return depths


def walk_chain(
    parents: dict[str, str | None],
    old: str,
    new: str,
    *,
    limit: int = 5000,
    depths: dict[str, int] | None = None,
) -> list[str]:
    """The commits from `new` back along first parents until `old` (exclusive); [] when `old` is not met
    within `limit` steps (a force-push or missing history: better no lead time than a wrong one). With the
    `chain_depths` of `parents`, a walk goes no further than the depth of `old`."""
    if depths is not None and old in depths and new in depths:
        if depths[new] <= depths[old]:
            return []  # `old` is not behind `new` on its chain (a later commit deployed first, another branch)
        limit = min(limit, depths[new] - depths[old])
    out: list[str] = []
    seen: set[str] = set()
    sha: str | None = new
    while sha is not None and sha != old:
        if len(out) >= limit or sha in seen:
            return []
        out.append(sha)
        seen.add(sha)
        sha = parents.get(sha)
    return out if sha == old else []
