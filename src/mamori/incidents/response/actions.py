"""Postmortem action items filed to Jira Cloud or GitHub Issues as durable jobs, at most one issue each.

Filing is a job (`incidents.file_action_item`, deduplicated per item). The job records the issue key
in the same transaction as its completion; if a retry runs because an earlier attempt's answer was
lost, it first looks for the issue by its marker, so no second issue is created.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from mamori.core import audit, catalog, deliveries, jobs
from mamori.core.audit import Actor
from mamori.core.errors import Conflict, NotFound, ValidationFailed
from mamori.core.jobs import JobContext
from mamori.core.runtime import Runtime
from mamori.incidents.models import ActionItem, Incident
from mamori.incidents.oncall import drills
from mamori.integrations import DeliveryError
from mamori.integrations.tickets import TRACKERS, TicketRequest, TicketTracker, Trackers, file_once

FILE_JOB = "incidents.file_action_item"
FILE_ATTEMPTS = 6
REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
JIRA_PROJECT = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")


def get_item(session: Session, item_id: str) -> ActionItem:
    item = session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"no action item {item_id!r}")
    return item


def _github_repo(value: str | None) -> str | None:
    """owner/repo from 'owner/repo' or a github.com URL (the catalog's service repository)."""
    if not value:
        return None
    text = value.strip().removesuffix(".git").rstrip("/")
    for prefix in ("https://github.com/", "http://github.com/", "git@github.com:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text if REPO.match(text) else None


def tracker(runtime: Runtime, name: str) -> TicketTracker:
    """The runtime's tracker of that name; ValidationFailed says what to set when it is not configured."""
    return runtime.state(Trackers).get(name)


def marker(item_id: str) -> str:
    """The label that makes filing idempotent for one action item."""
    return f"mamori-ai-{item_id.lower()}"


def file_item(
    session: Session,
    runtime: Runtime,
    *,
    item_id: str,
    tracker_name: str,
    target: str | None,
    actor: Actor,
    now: datetime,
) -> ActionItem:
    """Ask for an action item to be filed; the filing job runs in the background. Filing twice is refused."""
    item = get_item(session, item_id)
    drills.refuse_ticket(_drill_rules(session, runtime, item))  # a drill files no real ticket unless its scenario says
    if tracker_name not in TRACKERS:
        raise ValidationFailed(f"tracker must be one of {', '.join(TRACKERS)}, not {tracker_name!r}")
    tracker(runtime, tracker_name)  # configured?
    if tracker_name == "jira":
        if not target or not JIRA_PROJECT.match(target):
            raise ValidationFailed(f"a Jira project key like OPS is needed, not {target!r}")
    else:
        incident = session.get(Incident, item.incident_id)
        service_repo = None
        if incident is not None and incident.service:
            service_repo = _service_repository(session, incident.service)
        repo = _github_repo(target) or (None if target else _github_repo(service_repo))
        if repo is None:
            raise ValidationFailed(
                f"a GitHub repository owner/repo is needed, not {target!r}"
                if target
                else "give a repository owner/repo (the incident's service has no GitHub repository in the catalog)"
            )
        target = repo
    if item.filing_status in ("pending", "filed"):
        raise Conflict(f"action item is already {item.filing_status} ({item.external_ref or item.tracker})")
    again = item.filing_status == "failed"  # an earlier filing may have created the issue after all
    item.tracker, item.tracker_target, item.filing_status, item.filing_error = tracker_name, target, "pending", None
    jobs.enqueue(
        session,
        kind=FILE_JOB,
        now=now,
        payload={"item_id": item.id, "look_first": again},
        dedupe_key=f"file-action:{item.id}:{now.isoformat()}",
        max_attempts=FILE_ATTEMPTS,
    )
    audit.record(
        session,
        actor=actor,
        action="file",
        object_type="ActionItem",
        object_id=item.id,
        at=now,
        after={"tracker": tracker_name, "target": target},
    )
    return item


def _service_repository(session: Session, name: str) -> str | None:
    from mamori.core.models import Service

    found = session.query(Service).filter(Service.name == name).one_or_none()
    return found.repository if found is not None else None


def _drill_rules(session: Session, runtime: Runtime, item: ActionItem) -> drills.DrillRules | None:
    incident = session.get(Incident, item.incident_id)
    return drills.rules_of_group(session, runtime, incident.group_id) if incident is not None else None


def ticket_for(session: Session, runtime: Runtime, item: ActionItem) -> TicketRequest:
    incident = session.get(Incident, item.incident_id)
    base = runtime.settings.base_url.rstrip("/")
    title = f"#{incident.number} {incident.title}" if incident else "an incident"
    team = catalog.service_team(session, incident.service) if incident and incident.service else None
    return TicketRequest(
        marker=marker(item.id),
        title=drills.mark(item.title) if _drill_rules(session, runtime, item) else item.title,
        body=f"Action item from the postmortem of {title}" + (f" (team {team})." if team else "."),
        labels=("mamori",),
        facts=(("Owner", item.owner or "-"), ("Incident", f"{base}/incidents/{item.incident_id}")),
        due=item.due_at.date() if item.due_at else None,
    )


def _log_ticket(ctx: JobContext, item: ActionItem, *, ok: bool, detail: str) -> None:
    deliveries.attempt(
        ctx,
        source="incidents",
        kind="ticket",
        channel=item.tracker or "tracker",
        target=item.tracker_target or "",
        subject=f"incidents:incident:{item.incident_id}",
        ok=ok,
        detail=detail,
    )


def file_job(ctx: JobContext, *, item_id: str, look_first: bool) -> None:
    """Job: create the issue once; a retry first looks for the issue an earlier attempt may have made."""
    item = ctx.session.get(ActionItem, item_id, with_for_update=True)
    if item is None or item.filing_status != "pending" or item.external_ref:
        return
    assert item.tracker is not None and item.tracker_target is not None
    try:
        client = tracker(ctx.runtime, item.tracker)
        ticket = ticket_for(ctx.session, ctx.runtime, item)
        filed = file_once(client, item.tracker_target, ticket, look_first=ctx.attempt > 1 or look_first)
    except ValidationFailed as exc:  # the tracker was unconfigured since: retrying cannot help
        item.filing_status, item.filing_error = "failed", exc.detail[:2000]
        _log_ticket(ctx, item, ok=False, detail=exc.detail)
        return
    except DeliveryError as exc:
        _log_ticket(ctx, item, ok=False, detail=str(exc))
        if exc.permanent or ctx.attempt >= FILE_ATTEMPTS:
            item.filing_status, item.filing_error = "failed", str(exc)[:2000]
            return
        raise  # retried with backoff; the item stays pending
    item.external_ref, item.external_url, item.filing_status, item.filing_error = filed.key, filed.url, "filed", None
    _log_ticket(ctx, item, ok=True, detail=f"{filed.key} {filed.url}")
