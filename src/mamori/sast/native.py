"""Native JSON reports of Semgrep, Bandit, Brakeman and horusec, where they carry more than their SARIF.

Each reader returns the same `ParsedScan` as the SARIF reader and names the JSON path of every problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mamori.core.errors import InvalidInput, Problem
from mamori.sast import cwe, severity
from mamori.sast.result import ParsedScan, Result, Suppression

_PLACEHOLDERS = {"", "requires login"}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def obj(self, value: Any, loc: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problems.append(Problem(loc=loc, msg=f"expected an object, got {type(value).__name__}"))
            return {}
        return value

    def items(self, value: Any, loc: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.append(Problem(loc=loc, msg=f"expected an array, got {type(value).__name__}"))
            return []
        return value

    def text(self, data: dict[str, Any], key: str, loc: str, *, required: bool = False) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.problems.append(Problem(loc=f"{loc}.{key}", msg="required"))
            return ""
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.problems.append(Problem(loc=f"{loc}.{key}", msg=f"expected a string, got {type(value).__name__}"))
            return ""
        return str(value)

    def line(self, data: dict[str, Any], key: str, loc: str) -> int:
        value = data.get(key)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.problems.append(Problem(loc=f"{loc}.{key}", msg=f"expected a line number, got {value!r}"))
            return 0
        return value

    def done(self, what: str) -> None:
        if self.problems:
            raise InvalidInput(f"not a valid {what} report", problems=self.problems[:50])


def _clean_path(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path


def parse_semgrep(document: Any) -> ParsedScan:
    """`semgrep --json`: results[{check_id, path, start, end, extra{message, severity, fingerprint, ...}}]."""
    c = _Checker()
    data = c.obj(document, "$")
    if data and "results" not in data:
        c.problems.append(Problem(loc="results", msg="a Semgrep JSON report has a results array"))
    results = []
    for i, raw in enumerate(c.items(data.get("results"), "results")):
        loc = f"results[{i}]"
        item = c.obj(raw, loc)
        extra = c.obj(item.get("extra", {}), f"{loc}.extra")
        meta = c.obj(extra.get("metadata", {}), f"{loc}.extra.metadata")
        start = c.obj(item.get("start", {}), f"{loc}.start")
        end = c.obj(item.get("end", {}), f"{loc}.end")
        fingerprint = c.text(extra, "fingerprint", f"{loc}.extra")
        tags = meta.get("cwe", [])
        lines = c.text(extra, "lines", f"{loc}.extra")
        ignored = bool(extra.get("is_ignored"))
        results.append(
            Result(
                tool="semgrep",
                rule_id=c.text(item, "check_id", loc, required=True),
                message=c.text(extra, "message", f"{loc}.extra"),
                path=_clean_path(c.text(item, "path", loc, required=True)),
                start_line=c.line(start, "line", f"{loc}.start"),
                end_line=c.line(end, "line", f"{loc}.end"),
                start_column=c.line(start, "col", f"{loc}.start"),
                severity=severity.from_word(c.text(extra, "severity", f"{loc}.extra")) or "medium",
                confidence=severity.from_word(str(meta.get("confidence", ""))) or "",
                cwes=cwe.extract([str(t) for t in (tags if isinstance(tags, list) else [tags])]),
                snippet="" if lines.strip().lower() in _PLACEHOLDERS else lines,
                tool_fingerprints={} if fingerprint.strip().lower() in _PLACEHOLDERS else {"semgrep": fingerprint},
                suppressions=[Suppression(kind="inSource", justification="nosemgrep")] if ignored else [],
                where=loc,
            )
        )
    c.done("Semgrep JSON")
    return ParsedScan(tool="semgrep", tool_version=str(data.get("version", "")), results=results, format="semgrep")


NATIVE_READERS: dict[str, Callable[[Any], ParsedScan]] = {"semgrep": parse_semgrep}
"""Native formats by name (`--format` at upload); `detect` picks one from the document's shape."""


def detect(document: Any) -> str:
    """The format of a decoded report: sarif, or the name of a native reader."""
    if isinstance(document, dict):
        if "runs" in document or str(document.get("version", "")).startswith("2.1"):
            return "sarif"
        if "results" in document and ("paths" in document or "errors" in document) and "metrics" not in document:
            return "semgrep"
        if "results" in document and "metrics" in document:
            return "bandit"
        if "warnings" in document and "scan_info" in document:
            return "brakeman"
        if "analysisVulnerabilities" in document:
            return "horusec"
    raise InvalidInput(
        "unknown report format: expected SARIF 2.1.0 or the JSON of Semgrep, Bandit, Brakeman or horusec",
        problems=[Problem(loc="$", msg="no runs (SARIF), results, warnings or analysisVulnerabilities")],
    )
