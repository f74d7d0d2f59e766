"""A result's identities: its location hash (from the SARIF, from the source, or from its snippet) and the
versioned fingerprints the matcher compares. Pure: the source text comes in through `read`."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from mamori.sast import fingerprint
from mamori.sast.matcher import Candidate
from mamori.sast.result import Result, Suppression

CONTEXT_LINES = 3
"""Lines kept above and below a flagged line as its code context."""
SourceReader = Callable[[str], str | None]
"""Repository-relative path -> the file's text at the scanned commit, or None when it is not at hand."""


def rule_key(result: Result) -> str:
    """The rule as Mamori compares it: tool and rule id (Semgrep's config-path prefix is not part of it)."""
    return _rule_key(result.tool, result.rule_id)


@functools.lru_cache(maxsize=4096)
def _rule_key(tool: str, rule_id: str) -> str:
    rule = rule_id
    if tool == "semgrep" and ".python." in rule and rule.count(".") > 4:
        rule = rule[rule.index(".python.") + 1 :]  # "tmp.peers...python.lang.x" -> "python.lang.x"
    return f"{tool}/{rule}"


_MARKERS = (("nosec", re.compile(r"#\s*nosec\b(.*)")), ("nosemgrep", re.compile(r"\bnosemgrep\b(.*)")))
"""In-source suppression comments (Bandit's `# nosec`, Semgrep's `nosemgrep`), read from the flagged line."""


def in_source_marker(line: str) -> str | None:
    """`nosec: B602` style text when the line carries a suppression comment."""
    for name, pattern in _MARKERS:
        found = pattern.search(line)
        if found:
            rest = found.group(1).strip(" :")
            return f"{name}: {rest}" if rest else name
    return None


_MARKER_COMMENT = re.compile(r"\s*(#|//|/\*)\s*(nosec|nosemgrep)\b.*$")


def without_marker(line: str) -> str:
    """The line without a trailing suppression comment: adding `# nosec` to a line keeps its identity."""
    return _MARKER_COMMENT.sub("", line)


def _mark_suppressed(result: Result, lines: list[str]) -> None:
    if not 1 <= result.start_line <= len(lines) or any(s.kind == "inSource" for s in result.suppressions):
        return
    marker = in_source_marker(lines[result.start_line - 1])
    # each comment speaks to its tool: Semgrep honours only nosemgrep, Bandit (and gosec-style tools) nosec
    if marker and marker.startswith("nosemgrep") == (result.tool == "semgrep"):
        result.suppressions.append(Suppression(kind="inSource", justification=marker))


def assign_line_hashes(results: list[Result], read: SourceReader | None) -> None:
    """Fill `line_hash` where the tool gave none (from the file at the result's line, else its snippet), and
    read in-source suppression comments on the flagged line when the source is at hand."""
    cache: dict[str, tuple[list[str], list[str]] | None] = {}
    for result in results:
        if read is not None and result.path and result.start_line:
            if result.path not in cache:
                text = read(result.path)
                cache[result.path] = (fingerprint.line_hashes(text), text.splitlines()) if text is not None else None
            known = cache[result.path]
            if known is not None:
                hashes, lines = known
                _mark_suppressed(result, lines)
                if 1 <= result.start_line <= len(lines):
                    first = max(1, result.start_line - CONTEXT_LINES)
                    last = min(len(lines), max(result.end_line, result.start_line) + CONTEXT_LINES)
                    result.context, result.context_start = "\n".join(lines[first - 1 : last]), first
                    result.text_hash = fingerprint.text_hash(without_marker(lines[result.start_line - 1]))
                if not result.line_hash:
                    result.line_hash = fingerprint.line_hash_at(hashes, result.start_line)
        if not result.text_hash and result.snippet.strip():
            result.text_hash = fingerprint.text_hash(result.snippet.splitlines()[0])
        if not result.line_hash:
            result.line_hash = (
                fingerprint.snippet_hash(result.snippet) if result.snippet.strip() else f"line:{result.start_line}"
            )


def tool_fingerprints(result: Result) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(result.tool_fingerprints.items()))


def candidate(result: Result) -> Candidate:
    """The matcher's view of a result whose line hash is assigned."""
    line_hash = result.line_hash or f"line:{result.start_line}"
    rule = rule_key(result)
    prints = [fingerprint.identity_key(rule=rule, path=result.path, line_hash=line_hash)]
    if result.tool_fingerprints:
        prints += [f"tool:{result.tool}:{scheme}={value}" for scheme, value in result.tool_fingerprints.items()]
    if result.deprecated_fingerprints:
        scheme = min(result.tool_fingerprints) if result.tool_fingerprints else "hash"
        prints += [f"tool:{result.tool}:{scheme}={old}" for old in result.deprecated_fingerprints]
    return Candidate(
        rule=rule,
        path=result.path,
        line=result.start_line,
        message=result.message,
        line_hash=line_hash,
        text_hash=result.text_hash,
        fingerprints=frozenset(prints),
        tool_fingerprints=tool_fingerprints(result),
    )
