"""GitHub code scanning: alerts from the REST API (`GET /repos/{owner}/{repo}/code-scanning/alerts`) and the
`code_scanning_alert` webhook, read into the same results as any report. Pure, with JSON paths in errors.

An alert's number is its identity on GitHub (kept as the tool fingerprint `github-alert`); a dismissed
alert is an external suppression carrying GitHub's reason; fixed alerts are not reported.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from mamori.core.errors import InvalidInput, Problem
from mamori.sast import cwe, severity
from mamori.sast.result import ParsedScan, Result, Suppression, tool_slug

WEBHOOK_ACTIONS = ("created", "reopened", "appeared_in_branch", "closed_by_user", "reopened_by_user", "fixed")


def _alert(raw: Any, loc: str, problems: list[Problem]) -> tuple[str, Result, str] | None:
    """(tool, result, state) of one alert, or None after recording what is wrong."""
    if not isinstance(raw, dict):
        problems.append(Problem(loc=loc, msg="expected an alert object"))
        return None
    before = len(problems)
    rule, tool = raw.get("rule") or {}, raw.get("tool") or {}
    instance = raw.get("most_recent_instance") or {}
    location = instance.get("location") if isinstance(instance, dict) else None
    checks = (
        ("number", raw.get("number"), int),
        ("state", raw.get("state"), str),
        ("rule.id", rule.get("id") if isinstance(rule, dict) else None, str),
        ("tool.name", tool.get("name") if isinstance(tool, dict) else None, str),
        ("most_recent_instance.location.path", location.get("path") if isinstance(location, dict) else None, str),
    )
    for field, value, kind in checks:
        if not isinstance(value, kind) or isinstance(value, bool):
            problems.append(Problem(loc=f"{loc}.{field}", msg=f"expected a {kind.__name__}, got {value!r}"))
    if len(problems) > before or not isinstance(location, dict) or not isinstance(rule, dict):
        return None
    start = location.get("start_line") or 0
    if not isinstance(start, int) or start < 0:
        problems.append(Problem(loc=f"{loc}.most_recent_instance.location.start_line", msg=f"got {start!r}"))
        return None
    tags = [t for t in rule.get("tags") or [] if isinstance(t, str)]
    level = rule.get("security_severity_level") or rule.get("severity")
    message = (instance.get("message") or {}).get("text") or rule.get("description") or rule["id"]
    suppressions = []
    if raw["state"] == "dismissed":
        reason = " ".join(str(x) for x in (raw.get("dismissed_reason"), raw.get("dismissed_comment")) if x)
        suppressions.append(Suppression(kind="external", justification=f"dismissed on GitHub: {reason}".strip()))
    result = Result(
        tool=tool_slug(tool["name"]), rule_id=rule["id"], rule_name=str(rule.get("name") or ""), message=message,
        path=location["path"], start_line=start, end_line=int(location.get("end_line") or start),
        start_column=int(location.get("start_column") or 0),
        severity=severity.from_word(str(level)) or "medium", cwes=cwe.extract(tags),
        tool_fingerprints={"github-alert": str(raw["number"])}, suppressions=suppressions, where=loc,
    )  # fmt: skip
    return str(tool["name"]), result, str(raw["state"])


def parse_alerts(document: Any) -> list[ParsedScan]:
    """A code-scanning alerts listing: one scan per tool, with the open and dismissed alerts."""
    if not isinstance(document, list):
        raise InvalidInput("a code-scanning alerts listing is a JSON array", problems=[Problem("$", "not an array")])
    problems: list[Problem] = []
    by_tool: dict[str, ParsedScan] = {}
    for i, raw in enumerate(document):
        read = _alert(raw, f"[{i}]", problems)
        if read is None:
            continue
        tool, result, state = read
        scan = by_tool.setdefault(tool, ParsedScan(tool=tool, format="github"))
        if state != "fixed":
            scan.results.append(result)
    if problems:
        raise InvalidInput("not a valid code-scanning alerts listing", problems=problems[:50])
    return list(by_tool.values())


@dataclass(frozen=True)
class AlertEvent:
    """One `code_scanning_alert` delivery: what happened, to which alert, in which repository and commit."""

    action: str
    repo: str
    commit: str
    ref: str
    tool: str
    result: Result
    state: str


def parse_event(document: Any) -> AlertEvent:
    problems: list[Problem] = []
    data = document if isinstance(document, dict) else {}
    action = data.get("action")
    if action not in WEBHOOK_ACTIONS:
        problems.append(Problem(loc="action", msg=f"expected one of {', '.join(WEBHOOK_ACTIONS)}, got {action!r}"))
    repository = data.get("repository") if isinstance(data.get("repository"), dict) else {}
    repo = repository.get("full_name") if isinstance(repository, dict) else None
    if not isinstance(repo, str) or not repo:
        problems.append(Problem(loc="repository.full_name", msg="required"))
    read = _alert(data.get("alert"), "alert", problems)
    if problems or read is None:
        raise InvalidInput("not a code_scanning_alert event", problems=problems)
    tool, result, state = read
    commit = str(data.get("commit_oid") or "")
    ref = str(data.get("ref") or "")
    return AlertEvent(action=str(action), repo=str(repo), commit=commit, ref=ref, tool=tool, result=result, state=state)


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """GitHub's `X-Hub-Signature-256`: sha256=HMAC-SHA256(secret, body), compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)
