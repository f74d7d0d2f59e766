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


def parse_bandit(document: Any) -> ParsedScan:
    """`bandit -f json`: results[{test_id, filename, line_number, issue_severity, issue_confidence, issue_cwe}]."""
    c = _Checker()
    data = c.obj(document, "$")
    if data and "results" not in data:
        c.problems.append(Problem(loc="results", msg="a Bandit JSON report has a results array"))
    results = []
    for i, raw in enumerate(c.items(data.get("results"), "results")):
        loc = f"results[{i}]"
        item = c.obj(raw, loc)
        cwe_obj = item.get("issue_cwe")
        cwe_id = cwe_obj.get("id") if isinstance(cwe_obj, dict) else None
        code = c.text(item, "code", loc)
        line = c.line(item, "line_number", loc)
        snippet = next((t.split(" ", 1)[1] for t in code.splitlines() if t.split(" ", 1)[0] == str(line)), "")
        results.append(
            Result(
                tool="bandit",
                rule_id=c.text(item, "test_id", loc, required=True),
                rule_name=c.text(item, "test_name", loc),
                message=c.text(item, "issue_text", loc),
                path=_clean_path(c.text(item, "filename", loc, required=True)),
                start_line=line,
                end_line=line,
                start_column=c.line(item, "col_offset", loc),
                severity=severity.from_word(c.text(item, "issue_severity", loc)) or "medium",
                confidence=severity.from_word(c.text(item, "issue_confidence", loc)) or "",
                cwes=[f"CWE-{cwe_id}"] if isinstance(cwe_id, int) and cwe_id > 0 else [],
                snippet=snippet,
                help_uri=c.text(item, "more_info", loc),
                where=loc,
            )
        )
    c.done("Bandit JSON")
    return ParsedScan(tool="bandit", results=results, format="bandit")


BRAKEMAN_CWES = {
    "SQL Injection": 89,
    "Cross-Site Scripting": 79,
    "Command Injection": 78,
    "Remote Code Execution": 94,
    "Dangerous Eval": 95,
    "File Access": 22,
    "Dynamic Render Path": 22,
    "Redirect": 601,
    "Mass Assignment": 915,
    "Cross-Site Request Forgery": 352,
    "Remote Deserialization": 502,
    "Unsafe Deserialization": 502,
    "Session Setting": 614,
    "Weak Hash": 328,
    "Denial of Service": 400,
    "Format Validation": 777,
    "Unscoped Find": 285,
    "Authentication": 287,
}
"""Brakeman's warning types to CWE, for reports older than its own `cwe_id`."""


def _brakeman_warning(c: _Checker, raw: Any, loc: str, ignored: bool) -> Result:
    item = c.obj(raw, loc)
    warning_type = c.text(item, "warning_type", loc, required=True)
    given = item.get("cwe_id")
    cwes = [f"CWE-{n}" for n in given if isinstance(n, int)] if isinstance(given, list) else []
    if not cwes and warning_type in BRAKEMAN_CWES:
        cwes = [f"CWE-{BRAKEMAN_CWES[warning_type]}"]
    confidence = severity.from_word(c.text(item, "confidence", loc)) or "medium"
    fingerprint = c.text(item, "fingerprint", loc)
    return Result(
        tool="brakeman",
        rule_id=c.text(item, "check_name", loc) or warning_type,
        rule_name=warning_type,
        message=c.text(item, "message", loc),
        path=_clean_path(c.text(item, "file", loc, required=True)),
        start_line=c.line(item, "line", loc),
        severity=confidence,  # Brakeman ranks by confidence: High, Medium, Weak
        confidence=confidence,
        cwes=cwes,
        snippet=c.text(item, "code", loc),
        tool_fingerprints={"brakeman": fingerprint} if fingerprint else {},
        suppressions=[Suppression(kind="external", justification="brakeman.ignore")] if ignored else [],
        help_uri=c.text(item, "link", loc),
        where=loc,
    )


def parse_brakeman(document: Any) -> ParsedScan:
    """`brakeman -f json`: warnings[] (and ignored_warnings[], read as suppressed by brakeman.ignore)."""
    c = _Checker()
    data = c.obj(document, "$")
    if data and "warnings" not in data:
        c.problems.append(Problem(loc="warnings", msg="a Brakeman JSON report has a warnings array"))
    results = [
        _brakeman_warning(c, w, f"warnings[{i}]", False)
        for i, w in enumerate(c.items(data.get("warnings"), "warnings"))
    ]
    ignored = c.items(data.get("ignored_warnings"), "ignored_warnings")
    results += [_brakeman_warning(c, w, f"ignored_warnings[{i}]", True) for i, w in enumerate(ignored)]
    scan_info = data.get("scan_info")
    info: dict[str, Any] = scan_info if isinstance(scan_info, dict) else {}
    c.done("Brakeman JSON")
    return ParsedScan(
        tool="brakeman", tool_version=str(info.get("brakeman_version", "")), results=results, format="brakeman"
    )


def _int_text(c: _Checker, data: dict[str, Any], key: str, loc: str) -> int:
    value = data.get(key)
    if value in (None, ""):
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    c.problems.append(Problem(loc=f"{loc}.{key}", msg=f"expected a line number, got {value!r}"))
    return 0


def parse_horusec(document: Any) -> ParsedScan:
    """horusec JSON: analysisVulnerabilities[].vulnerabilities{rule_id, file, line, vulnHash, deprecatedHashes}."""
    c = _Checker()
    data = c.obj(document, "$")
    if data and "analysisVulnerabilities" not in data:
        c.problems.append(Problem(loc="analysisVulnerabilities", msg="a horusec report has analysisVulnerabilities"))
    results = []
    for i, raw in enumerate(c.items(data.get("analysisVulnerabilities"), "analysisVulnerabilities")):
        loc = f"analysisVulnerabilities[{i}].vulnerabilities"
        item = c.obj(c.obj(raw, f"analysisVulnerabilities[{i}]").get("vulnerabilities"), loc)
        details = c.text(item, "details", loc)
        old = [h for h in c.items(item.get("deprecatedHashes"), f"{loc}.deprecatedHashes") if isinstance(h, str)]
        vuln_hash = c.text(item, "vulnHash", loc)
        results.append(
            Result(
                tool="horusec",
                rule_id=c.text(item, "rule_id", loc) or c.text(item, "securityTool", loc) or "horusec",
                message=details.split("\n", 1)[0],
                path=_clean_path(c.text(item, "file", loc, required=True)),
                start_line=_int_text(c, item, "line", loc),
                start_column=_int_text(c, item, "column", loc),
                severity=severity.from_word(c.text(item, "severity", loc)) or "medium",
                confidence=severity.from_word(c.text(item, "confidence", loc)) or "",
                cwes=cwe.extract([details]),
                snippet=c.text(item, "code", loc),
                tool_fingerprints={"vulnHash": vuln_hash} if vuln_hash else {},
                deprecated_fingerprints=old,
                where=loc,
            )
        )
    c.done("horusec JSON")
    return ParsedScan(tool="horusec", tool_version=str(data.get("version", "")), results=results, format="horusec")


NATIVE_READERS: dict[str, Callable[[Any], ParsedScan]] = {
    "semgrep": parse_semgrep,
    "bandit": parse_bandit,
    "brakeman": parse_brakeman,
    "horusec": parse_horusec,
}
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
