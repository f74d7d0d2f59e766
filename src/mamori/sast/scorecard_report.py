"""Scorecards as JSON and Markdown, tools side by side."""

from __future__ import annotations

from typing import Any

from mamori.sast.scorecard import ToolScore


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _overall(s: ToolScore) -> dict[str, Any]:
    return {
        "tp": s.total("tp"), "fn": s.total("fn"), "tn": s.total("tn"), "fp": s.total("fp"),
        "tpr": round(s.tpr, 4), "fpr": round(s.fpr, 4), "score": round(s.score, 4),
        "precision": None if s.precision is None else round(s.precision, 4),
    }  # fmt: skip


def as_json(scores: list[ToolScore]) -> dict[str, Any]:
    def category(c: Any) -> dict[str, Any]:
        return {
            "category": c.category, "cwe": c.cwe, "tp": c.tp, "fn": c.fn, "tn": c.tn, "fp": c.fp,
            "tpr": round(c.tpr, 4), "fpr": round(c.fpr, 4), "score": round(c.score, 4),
            "precision": None if c.precision is None else round(c.precision, 4),
        }  # fmt: skip

    return {
        "tools": [
            {
                "tool": s.tool,
                "overall": _overall(s),
                "categories": [category(c) for c in s.categories],
            }
            for s in scores
        ]
    }


def as_markdown(scores: list[ToolScore]) -> str:
    lines = [
        "| tool | TP | FN | TN | FP | TPR | FPR | precision | score (TPR - FPR) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        lines.append(
            f"| {s.tool} | {s.total('tp')} | {s.total('fn')} | {s.total('tn')} | {s.total('fp')} | {_pct(s.tpr)} "
            f"| {_pct(s.fpr)} | {_pct(s.precision)} | {s.score * 100:+.1f}% |"
        )
    for s in scores:
        lines += [
            "",
            f"### {s.tool}",
            "| category | CWE | TP | FN | TN | FP | TPR | FPR | score |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c.category} | {c.cwe} | {c.tp} | {c.fn} | {c.tn} | {c.fp} | {_pct(c.tpr)} | {_pct(c.fpr)} "
            f"| {c.score * 100:+.1f}% |"
            for c in s.categories
        ]
    return "\n".join(lines) + "\n"
