"""A gate verdict as the body of a GitHub check run (annotations on the lines the pull request changed) and
as the one summary comment, from a unified diff of base..head. Pure: text in, JSON-ready dicts out.

`service/publish.py` posts them through `mamori.integrations.github_checks` (the same run and comment updated
on every push); `body` is also what `mamori sast gate --format check-run` prints for CI to post itself.
"""

from __future__ import annotations

import re
from typing import Any

from mamori.sast.gate import GateItem, Verdict

MAX_ANNOTATIONS = 50
"""GitHub takes at most 50 annotations per request (the printed body carries that many)."""
MAX_POSTED_ANNOTATIONS = 1000
"""Annotations posted at most (in requests of 50): past that, the summary still counts every finding."""
COMMENT_MARKER = "<!-- mamori:sast-gate -->"
"""The summary comment carries this marker, so the next push edits it instead of adding another."""
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_LEVEL = {"critical": "failure", "high": "failure", "medium": "warning", "low": "notice", "info": "notice"}


def changed_lines(diff: str) -> dict[str, set[int]]:
    """Lines added or changed in head, per file, from `git diff base head` (unified format)."""
    out: dict[str, set[int]] = {}
    path: str | None = None
    line = 0
    for text in diff.splitlines():
        if text.startswith("+++ "):
            target = text[4:].strip()
            path = None if target == "/dev/null" else target.removeprefix("b/")
            continue
        hunk = _HUNK.match(text)
        if hunk:
            line = int(hunk.group(1))
            continue
        if path is None or text.startswith(("--- ", "diff ", "index ")):
            continue
        if text.startswith("+"):
            out.setdefault(path, set()).add(line)
            line += 1
        elif not text.startswith("-") and not text.startswith("\\"):
            line += 1
    return out


def _annotation(item: GateItem, verdict: Verdict) -> dict[str, Any]:
    return {
        "path": item.path,
        "start_line": max(item.line, 1),
        "end_line": max(item.line, 1),
        "annotation_level": _LEVEL.get(item.severity, "warning") if item in verdict.blocking else "notice",
        "title": f"{item.severity} {item.cwe or ''} {item.rule}".replace("  ", " ").strip()[:255],
        "message": f"{item.title} [{verdict.reasons.get(item.finding_id, '')}] ({', '.join(item.tools)})"[:64000],
    }


def annotations_for(verdict: Verdict, *, diff: str | None = None) -> list[dict[str, Any]]:
    """Every annotation of the verdict, blocking ones first: new findings on lines the diff added or changed
    (on any line without a diff), at most MAX_POSTED_ANNOTATIONS."""
    changed = changed_lines(diff) if diff is not None else None
    items = [i for i in verdict.new if changed is None or i.line in changed.get(i.path, set())]
    items.sort(key=lambda i: (i not in verdict.blocking, i.path, i.line))
    return [_annotation(i, verdict) for i in items[:MAX_POSTED_ANNOTATIONS]]


def body(
    verdict: Verdict, *, diff: str | None = None, name: str = "Mamori SAST", limit: int = MAX_ANNOTATIONS
) -> dict[str, Any]:
    """The Checks API body for the head commit: conclusion, summary, the first `limit` annotations on changed
    lines (one request takes 50; `annotations_for` gives them all)."""
    title = (
        "No new findings block this change"
        if verdict.passed
        else f"{len(verdict.blocking)} new finding{'s' if len(verdict.blocking) != 1 else ''} block this change"
    )
    return {
        "name": name,
        "head_sha": verdict.head,
        "status": "completed",
        "conclusion": "success" if verdict.passed else "failure",
        "external_id": f"mamori-sast:{verdict.repo}:{verdict.head}",
        "output": {
            "title": title,
            "summary": summary(verdict),
            "annotations": annotations_for(verdict, diff=diff)[:limit],
        },
    }


def summary(verdict: Verdict) -> str:
    """The summary comment's Markdown (one per pull request, edited in place: see COMMENT_MARKER)."""
    head = "**Passed**" if verdict.passed else "**Blocked**"
    lines = [
        COMMENT_MARKER,
        f"{head}: {len(verdict.blocking)} blocking, {len(verdict.new)} new, {len(verdict.unchanged)} unchanged, "
        f"{len(verdict.fixed)} fixed against `{verdict.base[:12]}`.",
    ]
    if not verdict.baseline_found:
        lines.append("The base commit has no scan: every finding counts as new.")
    if verdict.new:
        lines += ["", "| | severity | finding | where | tools |", "|---|---|---|---|---|"]
        for i in verdict.new[:30]:
            mark = "blocks" if i in verdict.blocking else verdict.reasons.get(i.finding_id, "")
            title = i.title.replace("|", "\\|")[:120]
            lines.append(f"| {mark} | {i.severity} | {title} | `{i.path}:{i.line}` | {', '.join(i.tools)} |")
    return "\n".join(lines)
