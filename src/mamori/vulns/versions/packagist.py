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
