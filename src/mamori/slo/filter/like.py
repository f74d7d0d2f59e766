"""SQL `LIKE` matching without backtracking: `%` is any run, `_` one character. No I/O.

A pattern is cut at each `%` into segments; the first must match at the start, the last at the end,
and each one between is taken at its leftmost place after the one before (leftmost is always safe when
the only unbounded wildcard is `%`). Finding a segment costs at most its length per position, so a
match costs O(len(value) x len(pattern)) whatever the pattern, where the regex `.*a.*a.*a.*b` that a
naive translation builds backtracks in O(n^k) and can stall ingest for seconds on one long field.
Values longer than `MAX_VALUE` characters never match (a log line is not an SLO dimension).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_VALUE = 65_536


def _segment(text: str) -> str | re.Pattern[str]:
    """A literal (found with str.find) or, when it holds `_`, a regex of literals and dots (no repetition,
    so a search cannot backtrack more than the segment's length at each position)."""
    if "_" not in text:
        return text
    return re.compile("".join("." if c == "_" else re.escape(c) for c in text), re.DOTALL)


def _find(seg: str | re.Pattern[str], value: str, start: int) -> int:
    if isinstance(seg, str):
        return value.find(seg, start)
    hit = seg.search(value, start)
    return -1 if hit is None else hit.start()


@dataclass(frozen=True)
class LikePattern:
    """A compiled LIKE pattern with the `fullmatch` interface of a regex (returns a truthy value or None)."""

    pattern: str
    _parts: tuple[tuple[str | re.Pattern[str], int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pieces = self.pattern.split("%")
        object.__setattr__(self, "_parts", tuple((_segment(p), len(p)) for p in pieces))

    def fullmatch(self, value: str) -> bool | None:
        if len(value) > MAX_VALUE:
            return None
        parts = self._parts
        if len(parts) == 1:
            seg, size = parts[0]
            return True if size == len(value) and _at(seg, value, 0) else None
        first, first_len = parts[0]
        last, last_len = parts[-1]
        if first_len + last_len > len(value) or not _at(first, value, 0):
            return None
        if not _at(last, value, len(value) - last_len):
            return None
        pos, end = first_len, len(value) - last_len
        for seg, size in parts[1:-1]:
            if size == 0:
                continue
            found = _find(seg, value, pos)
            if found < 0 or found + size > end:
                return None
            pos = found + size
        return True


def _at(seg: str | re.Pattern[str], value: str, pos: int) -> bool:
    if isinstance(seg, str):
        return value.startswith(seg, pos)
    return seg.match(value, pos) is not None
