"""What a stored scan tells the rest of Mamori: `ScanImported` with its counts per status and severity, one
`FindingOpened` per new or reopened finding, and the timeline (a summary per scan, with the findings it
opened per severity, and an event per opened finding from low up, the most severe first)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from mamori.core import timeline
from mamori.core.events import EventBus
from mamori.sast import severity
from mamori.sast.events import FindingOpened, ScanImported
from mamori.sast.models import SastScan
from mamori.sast.result import Result

TIMELINE_PER_SCAN = 20
"""New or reopened findings each land on the timeline, the most severe first, up to this many per scan (the
scan's own event counts them all, per severity)."""
TIMELINE_FLOOR = "low"
"""The least severe finding that gets its own timeline event (info ones are only counted in the scan's)."""


class Opened(Protocol):
    """A finding (ORM object or a lazily loaded row) as far as announcing it goes."""

    id: str
    repo: str
    service: str | None
    title: str
    rule: str
    cwe: str | None
    path: str
    line: int
    severity: str


def severity_counts(results: list[Result]) -> dict[str, int]:
    """The results per severity, most severe first, those suppressed in source left out."""
    counts = {name: 0 for name in severity.SEVERITIES}
    for result in results:
        if not result.suppressed:
            counts[result.severity] = counts.get(result.severity, 0) + 1
    return {name: n for name, n in counts.items() if n}


def publish(
    session: Session,
    *,
    bus: EventBus,
    scan: SastScan,
    service: str | None,
    opened: Sequence[tuple[Opened, bool]],
    now: datetime,
    results: list[Result],
) -> None:
    severities = severity_counts(results)
    bus.publish(
        session,
        ScanImported(
            scan_id=scan.id, repo=scan.repo, service=service, tool=scan.tool, commit=scan.commit,
            branch=scan.branch, pr=scan.pr, counts=dict(scan.counts), severities=severities,
            suppressed=sum(r.suppressed for r in results), partial=scan.scanned_paths is not None, at=now,
        ),
        now=now,
    )  # fmt: skip
    unique: dict[str, tuple[Opened, bool]] = {}
    for finding, reopened in opened:
        unique.setdefault(finding.id, (finding, reopened))
    by_severity = {name: 0 for name in severity.SEVERITIES}
    for finding, _ in unique.values():
        by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
    opened_counts = {name: n for name, n in by_severity.items() if n}
    new, fixed = scan.counts.get("new", 0), scan.counts.get("fixed", 0)
    breakdown = ", ".join(f"{n} {name}" for name, n in opened_counts.items())
    timeline.record(
        session,
        at=now,
        kind="finding",
        source="sast",
        title=f"{scan.tool} on {scan.repo}@{scan.commit[:12]}: {new} new, {fixed} fixed"
        + (f" (opened: {breakdown})" if breakdown else ""),
        service=service,
        data={"scan_id": scan.id, "counts": dict(scan.counts), "opened": opened_counts, "severities": severities},
        ref=f"/sast/repos/{scan.repo}",
    )
    itemized = sorted(
        (pair for pair in unique.values() if severity.at_least(pair[0].severity, TIMELINE_FLOOR)),
        key=lambda pair: -severity.RANK[pair[0].severity],
    )[:TIMELINE_PER_SCAN]
    for finding, reopened in itemized:
        timeline.record(
            session, at=now, kind="finding", source="sast", service=service or finding.service,
            title=f"{'Reopened' if reopened else 'New'} {finding.severity} code finding: {finding.title[:200]}",
            ref=f"/sast/findings/{finding.id}",
            data={"path": finding.path, "line": finding.line, "severity": finding.severity},
        )  # fmt: skip
    for finding, reopened in unique.values():
        bus.publish(
            session,
            FindingOpened(
                finding_id=finding.id, repo=finding.repo, service=finding.service, rule=finding.rule, cwe=finding.cwe,
                path=finding.path, line=finding.line, severity=finding.severity, reopened=reopened, at=now,
            ),
            now=now,
        )  # fmt: skip
