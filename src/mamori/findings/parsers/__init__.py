"""Parsers of the tools' documents into `Observation`s, one module per format, chosen from `PARSERS`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mamori.findings.parsers import asff, aws_events, dependabot, inspector2, ocsf, prowler, snyk
from mamori.findings.records import Batch

Parser = Callable[[Any], Batch]
PARSERS: dict[str, Parser] = {
    asff.FORMAT: asff.parse,
    ocsf.FORMAT: ocsf.parse,
    aws_events.GUARDDUTY: aws_events.parse_guardduty,
    aws_events.CONFIG: aws_events.parse_config,
    dependabot.FORMAT: dependabot.parse,
    snyk.FORMAT: snyk.parse,
    snyk.ISSUES_FORMAT: snyk.parse_issues,
    inspector2.FORMAT: inspector2.parse,
    prowler.JSON_FORMAT: prowler.parse_json,
}
DETECTORS: list[tuple[str, Callable[[Any], bool]]] = [
    (asff.FORMAT, asff.looks_like),
    (ocsf.FORMAT, ocsf.looks_like),
    (aws_events.GUARDDUTY, aws_events.looks_like_guardduty),
    (aws_events.CONFIG, aws_events.looks_like_config),
    (dependabot.FORMAT, dependabot.looks_like),
    (snyk.FORMAT, snyk.looks_like),
    (snyk.ISSUES_FORMAT, snyk.looks_like_issues),
    (inspector2.FORMAT, inspector2.looks_like),
    (prowler.JSON_FORMAT, prowler.looks_like_json),
]


def detect(document: Any) -> str | None:
    """The format of a parsed JSON document, or None when no parser recognises it."""
    for name, looks_like in DETECTORS:
        if looks_like(document):
            return name
    return None
