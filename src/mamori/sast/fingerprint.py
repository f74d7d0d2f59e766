"""Location fingerprints that survive code moving: GitHub's `primaryLocationLineHash`, computed from source.

The line hash of line N is a rolling hash (base 37, 64-bit wrap-around) of the next 100 characters of the
file starting at line N, with spaces and tabs dropped and every line ending read as one line feed; an
identical window seen again gets the next occurrence number (`<hex>:<k>`). Because it reads forward from
the line and ignores horizontal whitespace, inserting lines above a finding or re-indenting it keeps the
hash. This is the value GitHub code scanning expects in `partialFingerprints.primaryLocationLineHash`.

Identities that Mamori stores carry a version prefix (`FINGERPRINT_VERSION`); a later algorithm adds a new
prefix and keeps matching the old ones (see `matcher`).
"""

from __future__ import annotations

import hashlib

FINGERPRINT_VERSION = "mamori/v1"
"""The prefix of the identity Mamori computes for every result (see `identity_key`)."""
LINE_HASH_KEY = "primaryLocationLineHash"
BLOCK_SIZE = 100
_MOD = 37
_MASK = (1 << 64) - 1
_FIRST_MOD = pow(_MOD, BLOCK_SIZE, 1 << 64)
_EOF = 65535
_TAB, _SPACE, _LF, _CR = 9, 32, 10, 13


def _code_units(text: str) -> list[int]:
    """UTF-16 code units, as GitHub's implementation reads the file (astral characters are two units)."""
    raw = text.encode("utf-16-le", "surrogatepass")
    return [raw[i] | (raw[i + 1] << 8) for i in range(0, len(raw), 2)]


def line_hashes(text: str) -> list[str]:
    """The line hash of each line of `text` (index 0 = line 1); a trailing line ending yields one more line."""
    window = [0] * BLOCK_SIZE
    line_numbers = [-1] * BLOCK_SIZE
    out: dict[int, str] = {}
    counts: dict[str, int] = {}
    state = {"hash": 0, "index": 0}

    def output() -> None:
        value = format(state["hash"], "x")
        counts[value] = counts.get(value, 0) + 1
        out[line_numbers[state["index"]]] = f"{value}:{counts[value]}"
        line_numbers[state["index"]] = -1

    def update(current: int) -> None:
        index = state["index"]
        begin = window[index]
        window[index] = current
        state["hash"] = (_MOD * state["hash"] + current - _FIRST_MOD * begin) & _MASK
        state["index"] = (index + 1) % BLOCK_SIZE

    line_number = 0
    line_start = True
    prev_cr = False
    for unit in [*_code_units(text), _EOF]:
        if unit in (_SPACE, _TAB) or (prev_cr and unit == _LF):
            prev_cr = False
            continue
        prev_cr = unit == _CR
        current = _LF if prev_cr else unit
        if line_numbers[state["index"]] != -1:
            output()
        if line_start:
            line_start = False
            line_number += 1
            line_numbers[state["index"]] = line_number
        if current == _LF:
            line_start = True
        update(current)
    for _ in range(BLOCK_SIZE):
        if line_numbers[state["index"]] != -1:
            output()
        update(0)
    return [out[n] for n in sorted(out)]


def line_hash_at(hashes: list[str], line: int) -> str | None:
    """The hash of 1-based `line`, or None when the file has no such line (the source changed since the scan)."""
    return hashes[line - 1] if 1 <= line <= len(hashes) else None


def snippet_hash(snippet: str) -> str:
    """A stand-in line hash from the result's own snippet when the source is not at hand (whitespace-blind)."""
    squeezed = "".join(snippet.split())
    return "snippet:" + hashlib.sha256(squeezed.encode()).hexdigest()[:16]


def text_hash(line: str) -> str:
    """The flagged line's own text, whitespace-blind: equal when only indentation or neighbours changed."""
    squeezed = "".join(line.split())
    return hashlib.sha256(squeezed.encode()).hexdigest()[:16] if squeezed else ""


def base_of(line_hash: str) -> str:
    """The hash without its occurrence number: equal for the same code wherever it sits in the file."""
    return line_hash.rsplit(":", 1)[0] if line_hash[-1:].isdigit() and ":" in line_hash else line_hash


def identity_key(*, rule: str, path: str, line_hash: str) -> str:
    """Mamori's versioned identity of a result: rule, path and location hash (no line number)."""
    digest = hashlib.sha256(f"{rule}\x1f{path}\x1f{line_hash}".encode()).hexdigest()[:32]
    return f"{FINGERPRINT_VERSION}:{digest}"
