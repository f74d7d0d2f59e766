"""An interval index over one package's advisories: a version's affecting entries by one key and one bisection.

All range events of a package (per version ordering) cut the version line into slots: each breakpoint
itself and the open interval between two neighbours. Within a slot every range answers the same, so the
answer is computed once per slot when the table is built, and a lookup is `bisect` on the version's key.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from mamori.vulns import osv, versions


class _Between:
    """Stands for every version strictly between two neighbouring breakpoints (None: unbounded)."""

    __slots__ = ("hi", "lo")

    def __init__(self, lo: Any, hi: Any) -> None:
        self.lo, self.hi = lo, hi

    def __lt__(self, point: Any) -> bool:  # all of the interval lies below `point` (a breakpoint)
        return self.hi is not None and not (point < self.hi)

    def __gt__(self, point: Any) -> bool:
        return self.lo is not None and not (self.lo < point)


def _distinct_sorted(points: list[Any]) -> list[Any]:
    # keys from cmp_to_key cannot be hashed: sort, then drop neighbours that compare equal
    out: list[Any] = []
    for p in sorted(points):
        if not out or out[-1] < p:
            out.append(p)
    return out


class _OrderTable:
    """The breakpoints of every range in one ordering, and for each slot the affected entries' indices."""

    __slots__ = ("key", "points", "slots")

    def __init__(self, key: Callable[[str], Any], ranges: list[tuple[int, osv.KeyCheck, list[Any]]]) -> None:
        self.key = key
        self.points = _distinct_sorted([p for _, _, pts in ranges for p in pts])
        n = len(self.points)
        hits: list[list[int]] = [[] for _ in range(2 * n + 1)]
        for i, check, pts in ranges:
            # a range answers the same everywhere between two of its OWN neighbouring breakpoints, so it is
            # checked once per own segment and the answer copied to the global slots the segment covers
            own = _distinct_sorted(pts)
            lo, start = None, 0
            for hi in [*own, None]:
                end = 2 * n + 1 if hi is None else 2 * bisect_left(self.points, hi) + 1
                if check(_Between(lo, hi)):
                    for s in range(start, end):
                        _add(hits[s], i)
                if hi is not None:
                    if check(hi):
                        _add(hits[end], i)
                    start = end + 1
                lo = hi
        self.slots: list[tuple[int, ...]] = [tuple(h) for h in hits]

    def slot(self, version: str) -> int:
        """The slot index of a version: 2i for the gap below point i, 2i+1 for point i itself."""
        k = self.key(version)
        points = self.points
        i = bisect_left(points, k)
        if i < len(points) and not (k < points[i]) and not (points[i] < k):
            return 2 * i + 1
        return 2 * i

    def hits(self, version: str) -> tuple[int, ...]:
        return self.slots[self.slot(version)]


def _add(slot: list[int], i: int) -> None:
    # ranges arrive in entry order, so a repeated index can only be the last one
    if not slot or slot[-1] != i:
        slot.append(i)


class PackageTable:
    """Which of a package's affected entries a version falls in (explicit versions[] or SEMVER/ECOSYSTEM ranges)."""

    def __init__(self, entries: Sequence[osv.Affected]) -> None:
        listed: dict[str, list[int]] = {}
        for i, aff in enumerate(entries):
            for v in aff.versions:
                listed.setdefault(v, []).append(i)
        self.listed = {v: tuple(ids) for v, ids in listed.items()}
        by_order: dict[versions.Compare, list[tuple[int, osv.KeyCheck, list[Any]]]] = {}
        for i, aff in enumerate(entries):
            for rng in aff.ranges:
                cmp = osv.range_comparator(aff, rng)
                if cmp is not None:
                    check, points = osv.range_on_keys(rng, cmp, versions.key_function(cmp))
                    by_order.setdefault(cmp, []).append((i, check, points))
        self.tables = [_OrderTable(versions.key_function(cmp), ranges) for cmp, ranges in by_order.items()]
        # the common case, one ordering and no explicit versions: the slot is the answer
        self.single = self.tables[0] if len(self.tables) == 1 and not self.listed else None

    def hits(self, version: str) -> tuple[int, ...]:
        """Indices of the affected entries, in entry order."""
        if self.single is not None:
            return self.single.hits(version)
        found = set(self.listed.get(version, ()))
        for table in self.tables:
            found.update(table.hits(version))
        return tuple(sorted(found))
