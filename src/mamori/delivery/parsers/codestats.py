"""Code size and static-analysis counts: `cloc --json`, `tokei --output json`, RuboCop's and ESLint's JSON
formatters (pure; bytes in). Sizes are code lines per language; lint counts are per tool and severity."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SIZE_TOOLS = ("cloc", "tokei")
LINT_TOOLS = ("rubocop", "eslint")
ESLINT_SEVERITY = {1: "warning", 2: "error"}


class CodeStatsError(ValueError):
    """The document cannot be read; the message names the field."""


@dataclass
class Language:
    files: int = 0
    code: int = 0
    comments: int = 0
    blanks: int = 0


@dataclass
class Size:
    tool: str
    languages: dict[str, Language] = field(default_factory=dict)

    @property
    def code(self) -> int:
        return sum(lang.code for lang in self.languages.values())


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CodeStatsError(f"not JSON: {exc}") from None


def _int(doc: dict[str, Any], key: str, where: str) -> int:
    value = doc.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CodeStatsError(f"{where}.{key}: expected a whole number")
    return value


def cloc(data: bytes) -> Size:
    doc = _json(data)
    if not isinstance(doc, dict) or "header" not in doc:
        raise CodeStatsError("header: missing (is this `cloc --json` output?)")
    out = Size("cloc")
    for name, stats in doc.items():
        if name in ("header", "SUM") or not isinstance(stats, dict):
            continue
        out.languages[name] = Language(
            files=_int(stats, "nFiles", name),
            code=_int(stats, "code", name),
            comments=_int(stats, "comment", name),
            blanks=_int(stats, "blank", name),
        )
    return out


def tokei(data: bytes) -> Size:
    doc = _json(data)
    if not isinstance(doc, dict):
        raise CodeStatsError("expected an object of languages (is this `tokei --output json` output?)")
    out = Size("tokei")
    for name, stats in doc.items():
        if name == "Total" or not isinstance(stats, dict):
            continue
        reports = stats.get("reports")
        reports = reports if isinstance(reports, list) else []
        out.languages[name] = Language(
            files=len(reports),
            code=_int(stats, "code", name),
            comments=_int(stats, "comments", name),
            blanks=_int(stats, "blanks", name),
        )
    return out


def size(data: bytes, tool: str) -> Size:
    if tool not in SIZE_TOOLS:
        raise CodeStatsError(f"unknown size tool {tool!r}; use {', '.join(SIZE_TOOLS)}")
    return cloc(data) if tool == "cloc" else tokei(data)


def lint(data: bytes, tool: str) -> dict[str, int]:
    """Offences per severity."""
    doc = _json(data)
    counts: dict[str, int] = {}
    if tool == "rubocop":
        files = doc.get("files") if isinstance(doc, dict) else None
        if not isinstance(files, list):
            raise CodeStatsError("files: expected a list (is this `rubocop --format json` output?)")
        for i, f in enumerate(files):
            for j, offense in enumerate(f.get("offenses") or [] if isinstance(f, dict) else []):
                severity = offense.get("severity") if isinstance(offense, dict) else None
                if not isinstance(severity, str):
                    raise CodeStatsError(f"files[{i}].offenses[{j}].severity: expected a name")
                counts[severity] = counts.get(severity, 0) + 1
        return counts
    if tool == "eslint":
        if not isinstance(doc, list):
            raise CodeStatsError("expected a list of files (is this `eslint --format json` output?)")
        for i, f in enumerate(doc):
            for j, message in enumerate(f.get("messages") or [] if isinstance(f, dict) else []):
                level = message.get("severity") if isinstance(message, dict) else None
                severity = ESLINT_SEVERITY.get(level) if isinstance(level, int) else None
                if severity is None:
                    raise CodeStatsError(f"[{i}].messages[{j}].severity: expected 1 (warning) or 2 (error)")
                counts[severity] = counts.get(severity, 0) + 1
        return counts
    raise CodeStatsError(f"unknown lint tool {tool!r}; use {', '.join(LINT_TOOLS)}")
