"""Version ordering per ecosystem: one comparison function per OSV ecosystem name."""

from __future__ import annotations

from collections.abc import Callable
from functools import cmp_to_key, lru_cache
from typing import Any

from mamori.vulns.versions import debian, maven, nuget, packagist, pep440, rubygems, semver

Compare = Callable[[str, str], int]


# the key function behind each key-based ordering, so that matching can compare keys computed once
KEYS: dict[Compare, Callable[[str], Any]] = {}


def _by_key(key: Callable[[str], Any]) -> Compare:
    cached = lru_cache(maxsize=131072)(key)

    def compare(a: str, b: str) -> int:
        ka, kb = cached(a), cached(b)
        return int(ka > kb) - int(ka < kb)

    KEYS[compare] = cached
    return compare


def key_function(cmp: Compare) -> Callable[[str], Any]:
    """A sort key consistent with `cmp`: the ordering's own key where it has one, else one built from `cmp`."""
    key = KEYS.get(cmp)
    if key is None:
        key = KEYS[cmp] = lru_cache(maxsize=131072)(cmp_to_key(cmp))
    return key


_SEMVER = _by_key(semver.key)

COMPARATORS: dict[str, Compare] = {
    "PyPI": _by_key(pep440.key),
    "npm": _SEMVER,
    "Go": _SEMVER,
    "crates.io": _SEMVER,
    "RubyGems": _by_key(rubygems.key),
    "Maven": maven.compare,
    "Packagist": _by_key(packagist.key),
    "NuGet": _by_key(nuget.key),
    "Debian": debian.compare,
    "Ubuntu": debian.compare,
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


__all__ = ["COMPARATORS", "SUPPORTED", "Compare", "comparator", "compare", "key_function", "sort_key"]
