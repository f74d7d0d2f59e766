"""SemVer 2.0 ordering, lenient like OSV's: optional `v`, missing minor/patch read as 0, build metadata ignored."""

from __future__ import annotations

import re
from functools import total_ordering

from mamori.vulns.versions.text import is_digits

_CORE = re.compile(r"^[vV]?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(.*)$", re.DOTALL)


@total_ordering
class _Ident:
    """One pre-release identifier: numeric ones sort numerically and below alphanumeric ones (ASCII order)."""

    __slots__ = ("num", "text")

    def __init__(self, raw: str) -> None:
        self.num: int | None = int(raw) if is_digits(raw) else None
        self.text = raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ident) and (self.num, self.text if self.num is None else "") == (
            other.num,
            other.text if other.num is None else "",
        )

    def __hash__(self) -> int:
        return hash((self.num, self.text if self.num is None else ""))

    def __lt__(self, other: _Ident) -> bool:
        if self.num is not None and other.num is not None:
            return self.num < other.num
        if self.num is not None or other.num is not None:
            return self.num is not None
        return self.text < other.text


SemverKey = tuple[int, int, int, int, tuple[_Ident, ...]]


def _split_rest(rest: str) -> str:
    """The pre-release part of whatever follows the numeric core (`-rc.1+b`, `.beta`, `beta`)."""
    rest = rest.split("+", 1)[0]
    if rest[:1] in ("-", "."):
        rest = rest[1:]
    return rest


def key(version: str) -> SemverKey:
    """A sort key; versions that are not even SemVer-like sort lowest, by their text."""
    m = _CORE.match(version.strip())
    if m is None:
        return (-1, 0, 0, 0, (_Ident(version),))
    major, minor, patch, rest = m.group(1), m.group(2) or "0", m.group(3) or "0", m.group(4)
    pre = _split_rest(rest)
    if not pre:
        return (int(major), int(minor), int(patch), 1, ())
    return (int(major), int(minor), int(patch), 0, tuple(_Ident(p) for p in pre.split(".")))
