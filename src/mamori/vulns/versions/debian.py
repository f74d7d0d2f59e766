"""Debian (and Ubuntu) package version order, as Debian Policy 5.6.12 defines it and dpkg applies it.

`[epoch:]upstream[-revision]`: the epoch compares as a number, then upstream and revision each by
alternating runs: a non-digit run character by character (a tilde sorts before anything, even the end;
letters before all other characters), then a digit run as a number.
"""

from __future__ import annotations

from functools import lru_cache


def _order(ch: str) -> int:
    if ch == "~":
        return -1
    if ch.isascii() and ch.isalpha():
        return ord(ch)
    return ord(ch) + 256


def _split(text: str, start: int, digits: bool) -> int:
    end = start
    while end < len(text) and (text[end] in "0123456789") == digits:
        end += 1
    return end


def _compare_part(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        ei, ej = _split(a, i, False), _split(b, j, False)
        left, right = a[i:ei], b[j:ej]
        for k in range(max(len(left), len(right))):
            oa = _order(left[k]) if k < len(left) else 0
            ob = _order(right[k]) if k < len(right) else 0
            if oa != ob:
                return -1 if oa < ob else 1
        i, j = ei, ej
        ei, ej = _split(a, i, True), _split(b, j, True)
        na, nb = int(a[i:ei] or "0"), int(b[j:ej] or "0")
        if na != nb:
            return -1 if na < nb else 1
        i, j = ei, ej
    return 0


@lru_cache(maxsize=65536)
def parse(version: str) -> tuple[int, str, str]:
    """(epoch, upstream, revision); an epoch that is not a number counts as part of upstream."""
    text = version.strip()
    epoch, colon, rest = text.partition(":")
    if colon and epoch.isascii() and epoch.isdigit():
        number = int(epoch)
    else:
        number, rest = 0, text
    upstream, dash, revision = rest.rpartition("-")
    if not dash:
        upstream, revision = rest, ""
    return number, upstream, revision


def compare(a: str, b: str) -> int:
    ea, ua, ra = parse(a)
    eb, ub, rb = parse(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)
