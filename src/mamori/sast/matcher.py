"""Matching a new scan to what the same tool reported before: new, unchanged, moved, fixed, reopened.

Stages, in order; each earlier one wins and every known finding is claimed at most once:
1. exact identity: a fingerprint in common (Mamori's versioned identities of any version, the tool's own
   fingerprint, or a hash the tool says it used to give, as horusec's `deprecatedHashes`);
2. moved: same rule, same file, same line hash without its occurrence number (the code is the same,
   somewhere else in the file), the nearest line first;
3. moved: same rule, same file, same text of the flagged line, whitespace aside (GitHub's hash reads the
   100 characters after the line start, so an edit just below the line changes it; this stage catches that);
4. same rule, file, message and start line (the line's code was edited in place).
Where both sides carry the tool's own fingerprint of one scheme and the values differ, the tool has said
they are different findings: only a shared tool fingerprint (a deprecated one) can still match them.

A known finding left unclaimed is fixed only when the scan covered its file (`in_scope`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mamori.sast.fingerprint import base_of


@dataclass(frozen=True)
class Candidate:
    """One result of the new scan, with its identities computed (see `identity.identify`)."""

    rule: str
    path: str
    line: int
    message: str
    line_hash: str
    text_hash: str
    fingerprints: frozenset[str]
    """Identities it may be known by ("mamori/v1:..", "tool:semgrep=...", deprecated ones too)"""
    tool_fingerprints: tuple[tuple[str, str], ...] = ()
    """(scheme, value) of the tool's current fingerprints (for the "the tool says they differ" rule)"""


@dataclass(frozen=True)
class Known:
    """What was stored for one finding source of this tool in this repository."""

    id: str
    rule: str
    path: str
    line: int
    message: str
    line_hash: str
    text_hash: str
    fingerprints: frozenset[str]
    tool_fingerprints: tuple[tuple[str, str], ...] = ()
    open: bool = True


@dataclass
class Outcome:
    matches: list[tuple[int, str | None, str]] = field(default_factory=list)
    """(candidate index, known id or None, status: new | unchanged | moved | reopened)"""
    fixed: list[str] = field(default_factory=list)
    """Known ids that were open, in scope, and not seen again"""

    def count(self, status: str) -> int:
        if status == "fixed":
            return len(self.fixed)
        return sum(1 for _, _, s in self.matches if s == status)

    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in ("new", "unchanged", "moved", "reopened", "fixed")}


def in_scope(path: str, scanned: list[str] | None) -> bool:
    """Whether a scan of `scanned` paths (None: the whole repository) looked at `path`."""
    if scanned is None:
        return True
    return any(path == s or (s.endswith("/") and path.startswith(s)) or s in ("", ".", "/") for s in scanned)


def _tool_says_different(a: tuple[tuple[str, str], ...], b: tuple[tuple[str, str], ...]) -> bool:
    theirs = dict(b)
    return any(scheme in theirs and theirs[scheme] != value for scheme, value in a)


def _status(candidate: Candidate, known: Known) -> str:
    if not known.open:
        return "reopened"
    return "unchanged" if (candidate.path, candidate.line) == (known.path, known.line) else "moved"


def _fingerprint_index(known: list[Known]) -> dict[str, list[int]]:
    by_fp: dict[str, list[int]] = {}
    for k, item in enumerate(known):
        for fp in item.fingerprints:
            by_fp.setdefault(fp, []).append(k)
    return by_fp


def _place_indexes(known: list[Known], left: Iterable[int]) -> list[dict[object, list[int]]]:
    """Stages 2-4 keys of the known findings stage 1 left unclaimed: (rule, path, base hash), (rule, path,
    line text), (rule, path, message, line)."""
    by_base: dict[object, list[int]] = {}
    by_text: dict[object, list[int]] = {}
    by_line: dict[object, list[int]] = {}
    for k in left:
        item = known[k]
        by_base.setdefault((item.rule, item.path, base_of(item.line_hash)), []).append(k)
        if item.text_hash:
            by_text.setdefault((item.rule, item.path, item.text_hash), []).append(k)
        by_line.setdefault((item.rule, item.path, item.message, item.line), []).append(k)
    return [by_base, by_text, by_line]


def _stage_key(stage: int, cand: Candidate) -> object:
    if stage == 2:
        return (cand.rule, cand.path, base_of(cand.line_hash))
    if stage == 3:
        return (cand.rule, cand.path, cand.text_hash) if cand.text_hash else None
    return (cand.rule, cand.path, cand.message, cand.line)


def _exact(cand: Candidate, known: list[Known], by_fp: dict[str, list[int]], taken: set[int]) -> int | None:
    """Stage 1: a shared fingerprint (a shared tool fingerprint even where the current ones differ)."""
    best: int | None = None
    for fp in cand.fingerprints:
        for k in by_fp.get(fp, ()):
            if k in taken or (best is not None and (not known[best].open, best) <= (not known[k].open, k)):
                continue
            if fp.startswith("tool:") or not _tool_says_different(cand.tool_fingerprints, known[k].tool_fingerprints):
                best = k
    return best


def match(candidates: list[Candidate], known: Iterable[Known], *, scanned: list[str] | None = None) -> Outcome:
    """Match `candidates` (one scan) against `known` (every source of this tool and category, open or not)."""
    known_list = list(known)
    by_fp = _fingerprint_index(known_list)
    claimed: dict[int, int] = {}
    taken: set[int] = set()
    for c, cand in enumerate(candidates):
        hit = _exact(cand, known_list, by_fp, taken)
        if hit is not None:
            claimed[c] = hit
            taken.add(hit)
    indexes = _place_indexes(known_list, (k for k in range(len(known_list)) if k not in taken))
    for stage in (2, 3, 4):
        for c, cand in enumerate(candidates):
            key = None if c in claimed else _stage_key(stage, cand)
            if key is None:
                continue
            options = [
                k
                for k in indexes[stage - 2].get(key, ())
                if k not in taken and not _tool_says_different(cand.tool_fingerprints, known_list[k].tool_fingerprints)
            ]
            if options:
                best = min(options, key=lambda k: (not known_list[k].open, abs(known_list[k].line - cand.line), k))
                claimed[c] = best
                taken.add(best)
    outcome = Outcome()
    for c, cand in enumerate(candidates):
        hit = claimed.get(c)
        outcome.matches.append(
            (c, None, "new") if hit is None else (c, known_list[hit].id, _status(cand, known_list[hit]))
        )
    outcome.fixed = [
        item.id for k, item in enumerate(known_list) if item.open and k not in taken and in_scope(item.path, scanned)
    ]
    return outcome
