"""Tickets by policy: a finding that reaches a ticket rule's priority gets one Jira or GitHub issue, once
(the job's dedupe key is the finding; the integration finds an issue already carrying its marker label)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mamori.core import jobs
from mamori.core.errors import NotFound
from mamori.core.jobs import Payload, PermanentJobError
from mamori.core.runtime import Runtime
from mamori.findings.kinds import FindingsPolicySpec, TicketRule
from mamori.findings.models import FindingHistory, FindingRow
from mamori.findings.service.drafts import Draft
from mamori.integrations.tickets import GitHubTarget, JiraTarget, Ticket, create_github_issue, create_jira_issue

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
    settings = runtime.settings
    title, body = describe(f, settings.base_url)
    with runtime.http_client() as client:
        if rule.type == "jira":
            if not (settings.jira_url and settings.jira_email and settings.jira_token):
                raise PermanentJobError(
                    "Jira is not configured: set MAMORI_JIRA_URL, MAMORI_JIRA_EMAIL, MAMORI_JIRA_TOKEN"
                )
            target = JiraTarget(
                settings.jira_url,
                settings.jira_email,
                settings.jira_token.get_secret_value(),
                rule.project or "",
                rule.issue_type,
            )
            ticket = create_jira_issue(
                client, target, summary=title, description=body, labels=rule.labels, marker=marker(f.id)
            )
        else:
            if settings.github_token is None:
                raise PermanentJobError("GitHub is not configured: set MAMORI_GITHUB_TOKEN")
            repo = GitHubTarget(
                settings.github_api_url, settings.github_token.get_secret_value(), rule.repository or ""
            )
            ticket = create_github_issue(client, repo, title=title, body=body, labels=rule.labels, marker=marker(f.id))
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
