"""RubyGems ordering as Gem::Version: numeric and alphabetic segments, letters mean a pre-release."""

from __future__ import annotations

import re
from functools import lru_cache

from mamori.vulns.versions.text import is_digits

_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE | re.ASCII)

Segment = int | str


def _strip_zeros(segments: list[Segment]) -> list[Segment]:
    while segments and segments[-1] == 0:
        segments.pop()
    return segments


@lru_cache(maxsize=65536)
def segments(version: str) -> tuple[Segment, ...]:
    """Canonical segments: the release part and the pre-release part, each without trailing zeros."""
    text = version.strip().replace("-", ".pre.")
    raw: list[Segment] = [int(s) if is_digits(s) else s for s in _SEGMENT.findall(text)]
    first_string = next((i for i, s in enumerate(raw) if isinstance(s, str)), len(raw))
    return tuple(_strip_zeros(raw[:first_string]) + _strip_zeros(raw[first_string:]))


def compare(a: str, b: str) -> int:
    left, right = segments(a), segments(b)
    for i in range(max(len(left), len(right))):
        lhs: Segment = left[i] if i < len(left) else 0
        rhs: Segment = right[i] if i < len(right) else 0
        if lhs == rhs:
            continue
        if isinstance(lhs, str) and isinstance(rhs, int):
            return -1
        if isinstance(lhs, int) and isinstance(rhs, str):
            return 1
        return -1 if lhs < rhs else 1  # type: ignore[operator]
    return 0


_END = (1, 0, 0)


def key(version: str) -> tuple[tuple[int, int, Segment], ...]:
    """A sort key with the same order as `compare`, so that matching compares precomputed keys.

    Gem::Version pads the shorter version with zeros, and a string sorts below any number. Each
    non-zero segment is keyed with the count of zeros before it: a number after fewer zeros sorts
    higher, a string after fewer zeros lower, and the end of the version (zeros for ever) between.
    """
    out: list[tuple[int, int, Segment]] = []
    zeros = 0
    for seg in segments(version):
        if seg == 0:
            zeros += 1
            continue
        out.append((2, -zeros, seg) if isinstance(seg, int) else (0, zeros, seg))
        zeros = 0
    out.append(_END)
    return tuple(out)
