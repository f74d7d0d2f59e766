"""Packagist ordering: PHP's version_compare over a canonicalised version, as OSV applies it."""

from __future__ import annotations

import re
from functools import lru_cache

# PHP's special forms, matched by prefix in this order; "#" stands for any number.
_SPECIAL = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)
_TRANSITION = re.compile(r"(?<=\d)(?=[^\d.])|(?<=[^\d.])(?=\d)")


@lru_cache(maxsize=65536)
def canonical(version: str) -> tuple[str, ...]:
    text = version.strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    text = re.sub(r"[-_+]", ".", text)
    text = _TRANSITION.sub(".", text)
    return tuple(p for p in text.split(".") if p != "")


def _special(form: str) -> int:
    for name, order in _SPECIAL:
        if form.startswith(name):
            return order
    return -6


def _cmp_int(a: int, b: int) -> int:
    return (a > b) - (a < b)


def _compare_part(a: str, b: str) -> int:
    if a.isdigit() and b.isdigit():
        return _cmp_int(int(a), int(b))
    if a.isdigit():
        return _cmp_int(_special("#N#"), _special(b))
    if b.isdigit():
        return _cmp_int(_special(a), _special("#N#"))
    return _cmp_int(_special(a), _special(b))


def _compare_parts(left: tuple[str, ...], right: tuple[str, ...]) -> int:
    for a, b in zip(left, right, strict=False):
        c = _compare_part(a, b)
        if c:
            return c
    if len(left) > len(right):
        rest = left[len(right)]
        return 1 if rest.isdigit() else _compare_parts(left[len(right) :], ("#N#",))
    if len(right) > len(left):
        rest = right[len(left)]
        return -1 if rest.isdigit() else _compare_parts(("#N#",), right[len(left) :])
    return 0


def compare(a: str, b: str) -> int:
    return _compare_parts(canonical(a), canonical(b))


# a representative form for each special order, to turn a key back into comparable parts
_FORM = {0: "dev", 1: "alpha", 2: "beta", 3: "RC", 5: "pl", -6: "x"}
_END = (4, -1)  # after the last part: above any special form below "#", below any number and "pl"/"p"

PartKey = tuple[int, int]


class _Odd:
    """A version with a part PHP ranks like a number ("#..."): PHP's order is not transitive there, so such a
    version cannot have a tuple key; it compares part by part, against tuple keys too."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = parts

    def _cmp(self, other: object) -> int:
        if isinstance(other, _Odd):
            return _compare_parts(self.parts, other.parts)
        if isinstance(other, tuple):
            return _compare_parts(self.parts, _decode(other))
        raise TypeError(f"cannot compare a Packagist version key with {type(other).__name__}")

    def __lt__(self, other: object) -> bool:
        return self._cmp(other) < 0

    def __gt__(self, other: object) -> bool:
        return self._cmp(other) > 0

    def __le__(self, other: object) -> bool:
        return self._cmp(other) <= 0

    def __ge__(self, other: object) -> bool:
        return self._cmp(other) >= 0

    def __eq__(self, other: object) -> bool:
        return self._cmp(other) == 0

    def __hash__(self) -> int:
        return hash(self.parts)


def _decode(key: tuple[PartKey, ...]) -> tuple[str, ...]:
    out = []
    for order, value in key:
        if (order, value) == _END:
            break
        out.append(str(value) if order == 4 else _FORM[order])
    return tuple(out)


def key(version: str) -> tuple[PartKey, ...] | _Odd:
    """A sort key consistent with `compare`: numbers by value, special forms by their rank, then an end mark."""
    parts = canonical(version)
    out: list[PartKey] = []
    for p in parts:
        if p.isdigit():
            out.append((4, int(p)))
        else:
            order = _special(p)
            if order == 4:
                return _Odd(parts)
            out.append((order, 0))
    out.append(_END)
    return tuple(out)
