"""NuGet version ordering: up to four numeric parts, case-insensitive SemVer pre-release, metadata ignored."""

from __future__ import annotations

import re

from mamori.vulns.versions.semver import _Ident

_CORE = re.compile(r"^[vV]?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:\.([0-9]+))?(.*)$", re.DOTALL)

NugetKey = tuple[tuple[int, ...], int, tuple[_Ident, ...]]


def key(version: str) -> NugetKey:
    m = _CORE.match(version.strip())
    if m is None:
        return ((-1,), 0, (_Ident(version.lower()),))
    nums = tuple(int(g or "0") for g in m.groups()[:4])
    rest = m.group(5).split("+", 1)[0]
    if rest[:1] in ("-", "."):
        rest = rest[1:]
    if not rest:
        return (nums, 1, ())
    return (nums, 0, tuple(_Ident(p) for p in rest.lower().split(".")))
