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
    def __init__(self, key: Callable[[str], Any], ranges: list[tuple[int, osv.KeyCheck, list[Any]]]) -> None:
        self.key = key
        self.points = _distinct_sorted([p for _, _, pts in ranges for p in pts])
        self.slots: list[tuple[int, ...]] = []
        lo = None
        for hi in [*self.points, None]:
            between = _Between(lo, hi)
            self.slots.append(tuple(sorted({i for i, check, _ in ranges if check(between)})))
            if hi is not None:
                self.slots.append(tuple(sorted({i for i, check, _ in ranges if check(hi)})))
            lo = hi

    def hits(self, version: str) -> tuple[int, ...]:
        k = self.key(version)
        i = bisect_left(self.points, k)
        exact = i < len(self.points) and not (k < self.points[i]) and not (self.points[i] < k)
        return self.slots[2 * i + 1 if exact else 2 * i]


class PackageTable:
    """Which of a package's affected entries a version falls in (explicit versions[] or SEMVER/ECOSYSTEM ranges)."""

    def __init__(self, entries: Sequence[osv.Affected]) -> None:
        listed: dict[str, list[int]] = {}
        for i, aff in enumerate(entries):
            for v in aff.versions:
                listed.setdefault(v, []).append(i)
        self._listed = {v: tuple(ids) for v, ids in listed.items()}
        by_order: dict[versions.Compare, list[tuple[int, osv.KeyCheck, list[Any]]]] = {}
        for i, aff in enumerate(entries):
            for rng in aff.ranges:
                cmp = osv.range_comparator(aff, rng)
                if cmp is not None:
                    check, points = osv.range_on_keys(rng, cmp, versions.key_function(cmp))
                    by_order.setdefault(cmp, []).append((i, check, points))
        self._tables = [_OrderTable(versions.key_function(cmp), ranges) for cmp, ranges in by_order.items()]
        # the common case, one ordering and no explicit versions: the slot is the answer
        self._only = self._tables[0] if len(self._tables) == 1 and not self._listed else None

    def hits(self, version: str) -> Sequence[int]:
        """Indices of the affected entries, in entry order."""
        if self._only is not None:
            return self._only.hits(version)
        found = set(self._listed.get(version, ()))
        for table in self._tables:
            found.update(table.hits(version))
        return sorted(found)
