"""One severity scale for every tool: SARIF `level`, `security-severity`, tool severities and confidences."""

from __future__ import annotations

SEVERITIES = ("critical", "high", "medium", "low", "info")
RANK = {name: i for i, name in enumerate(reversed(SEVERITIES))}
"""info=0 ... critical=4: `RANK[a] >= RANK[b]` means a is at least as severe as b."""

_LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "info"}
_WORDS = {
    "critical": "critical",
    "blocker": "critical",
    "high": "high",
    "error": "high",
    "major": "high",
    "medium": "medium",
    "moderate": "medium",
    "warning": "medium",
    "low": "low",
    "minor": "low",
    "weak": "low",
    "note": "low",
    "info": "info",
    "information": "info",
    "informational": "info",
    "inventory": "info",
    "experimental": "info",
    "none": "info",
}


def from_security_severity(score: float) -> str:
    """GitHub's bands for a rule's `security-severity` (a CVSS-like score from 0 to 10)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score >= 0.1:
        return "low"
    return "info"


def from_level(level: str | None) -> str:
    """A SARIF `level` (a missing level means warning, as the specification says)."""
    return _LEVELS.get((level or "warning").lower(), "medium")


def from_word(word: str | None) -> str | None:
    """A tool's own severity or confidence word (Semgrep ERROR, Bandit HIGH, Brakeman Weak, ...)."""
    if not word:
        return None
    return _WORDS.get(word.strip().lower())


def at_least(severity: str, threshold: str) -> bool:
    return RANK.get(severity, 0) >= RANK.get(threshold, 0)


def check(name: str) -> str:
    """A severity a user typed (`--fail-on high`), or ValueError naming the choices."""
    value = name.strip().lower()
    if value not in RANK:
        raise ValueError(f"unknown severity {name!r}; use one of {', '.join(SEVERITIES)}")
    return value
