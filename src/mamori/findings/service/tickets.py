"""Tickets by policy: a finding that reaches a ticket rule's priority gets one Jira or GitHub issue, once
(the job's dedupe key is the finding; the integration finds an issue already carrying its marker label)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mamori.core import jobs
from mamori.core.errors import NotFound, ValidationFailed
from mamori.core.jobs import Payload, PermanentJobError
from mamori.core.runtime import Runtime
from mamori.findings.kinds import FindingsPolicySpec, TicketRule
from mamori.findings.models import FindingHistory, FindingRow
from mamori.findings.service.drafts import Draft
from mamori.integrations.tickets import Ticket, TicketRequest, Trackers, file_once

TICKET_JOB = "findings.file_ticket"


class TicketPayload(Payload):
    finding_id: str
    rule: int


def rule_for(policy: FindingsPolicySpec, f: FindingRow | Draft) -> int | None:
    for index, rule in enumerate(policy.tickets):
        if f.priority not in rule.priorities:
            continue
        if rule.kinds and f.kind not in rule.kinds:
            continue
        if rule.tools and not set(rule.tools) & set(f.tools or []):
            continue
        return index
    return None


def queue(session: Session, f: FindingRow | Draft, policy: FindingsPolicySpec, *, now: datetime) -> bool:
    """Enqueue the ticket job of an open finding that a rule matches; a second call for it adds nothing."""
    if f.ticket or f.status != "active" or f.suppressed_by:
        return False
    index = rule_for(policy, f)
    if index is None:
        return False
    payload = TicketPayload(finding_id=f.id, rule=index)
    jobs.enqueue(session, kind=TICKET_JOB, now=now, payload=payload, dedupe_key=f"findings:ticket:{f.id}")
    return True


def marker(finding_id: str) -> str:
    return f"mamori-finding-{finding_id[:16]}"


def describe(f: FindingRow, base_url: str) -> tuple[str, str]:
    title = f"[{f.priority}] {f.title}"
    lines = [
        f"Security finding {f.key}",
        f"Severity {f.severity.lower()}, priority {f.priority}: {'; '.join(f.priority_reasons or [])}",
        f"Reported by: {', '.join(f.tools or [])}",
        f"Service: {f.service or 'unmapped'}; due {f.due_at.date().isoformat() if f.due_at else 'no SLA'}",
        "",
        f"{base_url.rstrip('/')}/findings/{f.id}",
    ]
    return title, "\n".join(lines)


def file(
    session: Session, runtime: Runtime, *, finding_id: str, rule_index: int, rule: TicketRule, now: datetime
) -> Ticket:
    """Create (or find) the finding's ticket and note it on the finding; the caller logs the delivery."""
    f = session.get(FindingRow, finding_id)
    if f is None:
        raise NotFound(f"no security finding {finding_id!r}")
    title, body = describe(f, runtime.settings.base_url)
    try:
        tracker = runtime.state(Trackers).get(rule.type)
    except ValidationFailed as exc:
        raise PermanentJobError(exc.detail) from None
    request = TicketRequest(
        marker=marker(f.id), title=title, body=body, labels=tuple(rule.labels), issue_type=rule.issue_type
    )
    project = (rule.project if rule.type == "jira" else rule.repository) or ""
    ticket = file_once(tracker, project, request)
    f.ticket, f.ticket_url = ticket.key, ticket.url
    session.add(
        FindingHistory(
            finding=f,
            at=now,
            actor="system",
            event="ticketed",
            changes={"ticket": [None, ticket.key]},
            note=f"rule {rule_index}",
        )
    )
    return ticket
