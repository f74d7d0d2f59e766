"""A gate verdict as text, JSON and SARIF 2.1.0 (with `baselineState`, for pull-request annotations)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from mamori.sast.gate import GateItem, Verdict

_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_SCORE = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "info": "0.0"}


def as_json(verdict: Verdict) -> dict[str, Any]:
    def item(i: GateItem) -> dict[str, Any]:
        return {**asdict(i), "tools": list(i.tools), "reason": verdict.reasons.get(i.finding_id, "")}

    return {
        "repo": verdict.repo,
        "base": verdict.base,
        "head": verdict.head,
        "passed": verdict.passed,
        "baseline_found": verdict.baseline_found,
        "counts": {
            "blocking": len(verdict.blocking),
            "new": len(verdict.new),
            "unchanged": len(verdict.unchanged),
            "fixed": len(verdict.fixed),
        },
        "blocking": [item(i) for i in verdict.blocking],
        "new": [item(i) for i in verdict.new],
        "fixed": [item(i) for i in verdict.fixed],
    }


def as_text(verdict: Verdict) -> str:
    head = "PASSED" if verdict.passed else "BLOCKED"
    lines = [
        f"{head}: {verdict.repo} {verdict.base[:12]}..{verdict.head[:12]}: {len(verdict.blocking)} blocking, "
        f"{len(verdict.new)} new, {len(verdict.unchanged)} unchanged, {len(verdict.fixed)} fixed"
    ]
    if not verdict.baseline_found:
        lines.append(f"  (no scan of the base commit {verdict.base[:12]}: every head finding counts as new)")
    for i in verdict.new:
        mark = "BLOCK" if i in verdict.blocking else "  ok "
        where = f"{i.path}:{i.line}"
        lines.append(f"  {mark} {i.severity:<8} {where}  {i.rule}  {i.title[:100]}  [{verdict.reasons[i.finding_id]}]")
    return "\n".join(lines)


def as_sarif(verdict: Verdict) -> dict[str, Any]:
    """One run per tool; every head finding with baselineState new/unchanged, fixed ones as absent."""
    runs: dict[str, dict[str, Any]] = {}
    for state, items in (("new", verdict.new), ("unchanged", verdict.unchanged), ("absent", verdict.fixed)):
        for i in items:
            for tool in i.tools or ("mamori",):
                run = runs.setdefault(tool, {"tool": {"driver": {"name": tool, "rules": []}}, "results": []})
                rules = run["tool"]["driver"]["rules"]
                rule_id = i.rule.split("/", 1)[-1]
                if all(r["id"] != rule_id for r in rules):
                    tags = [f"external/cwe/{i.cwe.lower()}"] if i.cwe else []
                    rules.append({"id": rule_id, "properties": {"tags": tags, "security-severity": _SCORE[i.severity]}})
                run["results"].append(
                    {
                        "ruleId": rule_id,
                        "level": _LEVEL.get(i.severity, "warning"),
                        "message": {"text": i.title},
                        "baselineState": state,
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": i.path},
                                    "region": {"startLine": max(i.line, 1)},
                                }
                            }
                        ],
                        "properties": {"mamori/finding": i.finding_id, "mamori/blocking": i in verdict.blocking},
                    }
                )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": list(runs.values()),
    }
