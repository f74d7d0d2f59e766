"""Version ordering per ecosystem: one comparison function per OSV ecosystem name."""

from __future__ import annotations

from collections.abc import Callable
from functools import cmp_to_key, lru_cache
from typing import Any

from mamori.vulns.versions import maven, nuget, packagist, pep440, rubygems, semver

Compare = Callable[[str, str], int]


def _by_key(key: Callable[[str], Any]) -> Compare:
    cached = lru_cache(maxsize=131072)(key)

    def compare(a: str, b: str) -> int:
        ka, kb = cached(a), cached(b)
        return int(ka > kb) - int(ka < kb)

    return compare


_SEMVER = _by_key(semver.key)

COMPARATORS: dict[str, Compare] = {
    "PyPI": _by_key(pep440.key),
    "npm": _SEMVER,
    "Go": _SEMVER,
    "crates.io": _SEMVER,
    "RubyGems": rubygems.compare,
    "Maven": maven.compare,
    "Packagist": packagist.compare,
    "NuGet": _by_key(nuget.key),
}
SUPPORTED = frozenset(COMPARATORS)


def comparator(ecosystem: str) -> Compare | None:
    """The ordering for an OSV ecosystem name (a suffix like `Maven:central` or `npm:...` is ignored)."""
    return COMPARATORS.get(ecosystem.split(":", 1)[0])


def compare(ecosystem: str, a: str, b: str) -> int:
    cmp = comparator(ecosystem)
    if cmp is None:
        raise KeyError(f"no version ordering for ecosystem {ecosystem!r}")
    return cmp(a, b)


def sort_key(ecosystem: str) -> Callable[[str], Any]:
    cmp = comparator(ecosystem)
    if cmp is None:
        raise KeyError(f"no version ordering for ecosystem {ecosystem!r}")
    return cmp_to_key(cmp)


__all__ = ["COMPARATORS", "SUPPORTED", "Compare", "comparator", "compare", "sort_key"]
