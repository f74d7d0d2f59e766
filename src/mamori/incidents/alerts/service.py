"""Alert use cases: accept webhook payloads, process them into alerts and groups, ack, resolve (silences and
maintenance windows: `silences`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import audit, jobs, timeline
from mamori.core.audit import Actor
from mamori.core.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from mamori.core.jobs import JobContext
from mamori.core.runtime import Runtime
from mamori.incidents.alerts import intake, routing
from mamori.incidents.alerts.intake import ACKNOWLEDGED, RESOLVED, IncomingAlert
from mamori.incidents.alerts.silences import suppression
from mamori.incidents.eventing import group_fields
from mamori.incidents.events import AlertGroupAcknowledged, AlertGroupOpened, AlertGroupResolved
from mamori.incidents.kinds import stored as config
from mamori.incidents.kinds.documents import AlertRouteSpec, IntegrationSpec
from mamori.incidents.models import Alert, AlertGroup, Intake
from mamori.incidents.oncall import service as paging

log = logging.getLogger(__name__)

PROCESS_JOB = "incidents.process_intake"
SOURCES = ("alertmanager", "grafana", "datadog", "generic", "pagerduty")
MAX_KEPT_BODY = 1024 * 1024


@dataclass(frozen=True)
class Checked:
    """A payload checked against its integration: the intake row to store, its alerts, or why it is refused."""

    row: dict[str, Any]
    alerts: list[IncomingAlert]
    error: InvalidInput | None


def check(
    spec: IntegrationSpec, *, integration: str, source: str, body: bytes, content_type: str, now: datetime
) -> Checked:
    """Pure: the row to keep for a payload (accepted, or rejected with the reason) and its parsed alerts.

    Raises NotFound when the integration is of another type and PayloadTooLarge when the body could not be
    kept whole (then nothing is stored)."""
    if spec.type != source and not (source == "alertmanager" and spec.type == "grafana"):
        raise NotFound(f"integration {integration!r} is of type {spec.type}, not {source}")
    if len(body) > MAX_KEPT_BODY:  # it could not be kept whole, so it could not be processed later
        raise PayloadTooLarge(f"an alert payload may be at most {MAX_KEPT_BODY} bytes; this one is {len(body)}")
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    row: dict[str, Any] = {
        "integration": integration,
        "source": source,
        "received_at": now,
        "content_type": content_type[:200],
        # PostgreSQL text cannot hold NUL; valid JSON never has a raw one, so only rejected bodies change
        "body": (text if text is not None else body.decode("utf-8", errors="replace")).replace("\x00", "\ufffd"),
        "status": "accepted",
        "error": None,
    }
    try:
        if text is None:
            raise InvalidInput("the body is not UTF-8 JSON")
        try:
            alerts = intake.parse(source, body, mapping=spec.fields)
        except (TypeError, ValueError, OverflowError, OSError) as exc:  # a shape the parser did not foresee
            raise InvalidInput(f"malformed {source} payload: {exc}") from None
        if source == "pagerduty" and spec.routing_key and _pd_key(body) != spec.routing_key:
            raise InvalidInput("routing_key does not match this integration")
    except InvalidInput as exc:
        return Checked({**row, "status": "rejected", "error": exc.detail}, [], exc)
    return Checked(row, alerts, None)


def accept(
    session: Session, *, integration: str, source: str, body: bytes, content_type: str, now: datetime
) -> tuple[Intake, list[IncomingAlert]]:
    """Store one payload raw, then check it; malformed ones are kept as rejected and raise InvalidInput.

    The caller commits: on success the row and its processing job commit together. (The webhooks go through
    the batched intake log, `alerts.log`, instead; this is for drills, the CLI and tests.)"""
    spec = config.integration(session, integration)
    checked = check(spec, integration=integration, source=source, body=body, content_type=content_type, now=now)
    row = Intake(**checked.row)
    session.add(row)
    session.flush()
    if checked.error is not None:
        raise checked.error
    jobs.enqueue(
        session, kind=PROCESS_JOB, now=now, payload={"intake_id": row.id}, dedupe_key=f"intake:{row.id}", max_attempts=8
    )
    return row, checked.alerts


def _pd_key(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("routing_key")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def process_intake(ctx: JobContext, *, intake_id: int, last_id: int | None = None) -> None:
    """Job: turn stored payloads into alerts. Idempotent: alerts are keyed by the source's key, and a payload
    is processed only while it is `accepted` (its row is locked first).

    Without `last_id`, the one payload: a failure fails the job, which is retried with backoff. With it,
    every accepted payload from `intake_id` to `last_id` (one group commit of the intake log) in one
    transaction, each in a savepoint: one that fails is rolled back alone and gets a job of its own (so its
    retries and error are visible), the others are kept."""
    session = ctx.session
    cache: dict[str, tuple[IntegrationSpec, AlertRouteSpec]] = {}
    if last_id is None:
        row = session.get(Intake, intake_id, with_for_update=True)
        if row is not None and row.status == "accepted":
            process(session, ctx.runtime, row, now=ctx.now, cache=cache)
        return
    rows = session.scalars(
        select(Intake)
        .where(Intake.id >= intake_id, Intake.id <= last_id, Intake.status == "accepted")
        .order_by(Intake.id)
        .with_for_update()
    ).all()
    for row in rows:
        try:
            with session.begin_nested():
                process(session, ctx.runtime, row, now=ctx.now, cache=cache)
        except Exception as exc:
            log.warning("intake %s failed in its batch; it gets a job of its own: %s", row.id, exc)
            jobs.enqueue(
                session,
                kind=PROCESS_JOB,
                now=ctx.now,
                delay=jobs.backoff(1),
                payload={"intake_id": row.id},
                dedupe_key=f"intake:{row.id}",
                max_attempts=8,
            )


def process(
    session: Session,
    runtime: Runtime,
    row: Intake,
    *,
    now: datetime,
    cache: dict[str, tuple[IntegrationSpec, AlertRouteSpec]] | None = None,
) -> None:
    """Apply one stored payload; `cache` keeps integration and route specs for a batch."""
    if cache is not None and row.integration in cache:
        spec, route_spec = cache[row.integration]
    else:
        spec = config.integration(session, row.integration)
        route_spec = config.alert_route(session, spec.route)
        if cache is not None:
            cache[row.integration] = (spec, route_spec)
    try:
        incomings = intake.parse(row.source, row.body.encode(), mapping=spec.fields)
    except InvalidInput as exc:  # e.g. the integration's field mapping changed since the payload was accepted
        row.status, row.error = "rejected", exc.detail
        return
    for incoming in incomings:
        receive(
            session,
            runtime,
            integration=row.integration,
            source=row.source,
            route_name=spec.route,
            route_spec=route_spec,
            incoming=incoming,
            now=now,
        )
    row.status, row.processed_at = "processed", now


def receive(
    session: Session,
    runtime: Runtime,
    *,
    integration: str,
    source: str,
    route_name: str,
    route_spec: AlertRouteSpec,
    incoming: IncomingAlert,
    now: datetime,
) -> list[Alert]:
    """Apply one incoming alert: dedup, resolve, acknowledge, or open/join a group."""
    if incoming.status in (RESOLVED, ACKNOWLEDGED):
        existing = list(
            session.scalars(
                select(Alert).where(Alert.integration == integration, Alert.dedup_key == incoming.dedup_key)
            )
        )
        for alert in existing:
            if incoming.status == RESOLVED:
                _resolve_alert(session, runtime, alert, now=now)
            elif alert.group_id:
                group = session.get(AlertGroup, alert.group_id)
                if group is not None and group.status == "triggered":
                    acknowledge(session, runtime, group_id=group.id, actor=Actor.system(source), now=now)
        return existing
    out: list[Alert] = []
    for result in routing.route(route_name, route_spec, incoming.labels):
        slot = result.route_index if result.route_index is not None else -1
        found = session.scalar(
            select(Alert).where(
                Alert.integration == integration, Alert.dedup_key == incoming.dedup_key, Alert.route_slot == slot
            )
        )
        if found is not None and found.status == "firing" and found.suppressed_by is None:
            found.occurrences += 1
            found.last_seen_at = now
            alert = found
        else:
            alert = _fire(
                session,
                runtime,
                found,
                integration=integration,
                source=source,
                incoming=incoming,
                result=result,
                slot=slot,
                now=now,
            )
        out.append(alert)
    return out


def _fire(
    session: Session,
    runtime: Runtime,
    alert: Alert | None,
    *,
    integration: str,
    source: str,
    incoming: IncomingAlert,
    result: routing.RouteResult,
    slot: int,
    now: datetime,
) -> Alert:
    if alert is None:
        alert = Alert(
            integration=integration,
            source=source,
            dedup_key=incoming.dedup_key,
            route_slot=slot,
            first_seen_at=now,
            occurrences=0,
        )
        session.add(alert)
    alert.fingerprint, alert.status, alert.title = result.fingerprint, "firing", incoming.title[:500]
    alert.labels, alert.annotations = incoming.labels, incoming.annotations
    alert.generator_url = incoming.generator_url
    alert.service, alert.team, alert.severity = result.service, result.team, result.severity
    alert.occurrences += 1
    alert.last_seen_at, alert.resolved_at = now, None
    alert.suppressed_by = suppression(session, labels=incoming.labels, service=result.service, now=now)
    if alert.suppressed_by:
        alert.group_id = None
        session.flush()
        return alert
    group = session.scalar(
        select(AlertGroup).where(AlertGroup.group_key == result.group_key, AlertGroup.status != "resolved").limit(1)
    )
    opened = group is None
    if group is None:
        group = _open_group(session, integration=integration, result=result, title=incoming.title, now=now)
    alert.group_id = group.id
    session.flush()
    if opened:
        runtime.bus.publish(
            session, AlertGroupOpened(**group_fields(session, group), title=group.title, at=now), now=now
        )
    return alert


def _open_group(
    session: Session, *, integration: str, result: routing.RouteResult, title: str, now: datetime
) -> AlertGroup:
    policy = config.policy(session, result.escalation_policy) if result.escalation_policy else None
    group = AlertGroup(
        group_key=result.group_key,
        integration=integration,
        status="triggered",
        title=title[:500],
        service=result.service,
        team=result.team,
        severity=result.severity,
        escalation_policy=result.escalation_policy,
        opened_at=now,
        step=0,
        round=0,
        policy_snapshot=paging.snapshot(result.escalation_policy, policy)
        if policy and result.escalation_policy
        else None,
    )
    session.add(group)
    session.flush()
    if policy is not None:
        paging.start_escalation(session, group, now=now)
    else:
        log.warning("alert group %s has no escalation policy (%s); nobody is paged", group.id, result.escalation_policy)
    timeline.record(
        session,
        at=now,
        kind="alert",
        source="incidents",
        title=f"[{group.severity}] {title}",
        service=group.service,
        team=group.team,
        ref=f"/alerts/{group.id}",
        data={"group_id": group.id, "status": "triggered"},
        dedupe_key=f"alert-group:{group.id}:open",
    )
    return group


def _resolve_alert(session: Session, runtime: Runtime, alert: Alert, *, now: datetime) -> None:
    if alert.status == "resolved":
        return
    alert.status, alert.resolved_at = "resolved", now
    session.flush()
    if alert.group_id is None:
        return
    still = session.scalar(select(Alert.id).where(Alert.group_id == alert.group_id, Alert.status == "firing").limit(1))
    group = session.get(AlertGroup, alert.group_id)
    if still is None and group is not None and group.status != "resolved":
        resolve(session, runtime, group_id=group.id, actor=Actor.system("source"), now=now)


def get_group(session: Session, group_id: str, *, for_update: bool = False) -> AlertGroup:
    """The group; `for_update` locks its row and re-reads it (writers: ack and resolve must not cross a
    running escalation step)."""
    group = session.get(AlertGroup, group_id, with_for_update=for_update, populate_existing=for_update)
    if group is None:
        raise NotFound(f"no alert group {group_id!r}")
    return group


def acknowledge(session: Session, runtime: Runtime, *, group_id: str, actor: Actor, now: datetime) -> AlertGroup:
    group = get_group(session, group_id, for_update=True)
    if group.status == "resolved":
        raise Conflict("the alert group is already resolved")
    if group.status == "acknowledged":
        return group
    group.status, group.acknowledged_at, group.acknowledged_by = "acknowledged", now, actor.name
    paging.stop_escalation(session, group, now=now)
    paging.refresh_messages(session, group, now=now)
    audit.record(session, actor=actor, action="acknowledge", object_type="AlertGroup", object_id=group.id, at=now)
    session.flush()
    runtime.bus.publish(session, AlertGroupAcknowledged(**group_fields(session, group), by=actor.name, at=now), now=now)
    return group


def resolve(session: Session, runtime: Runtime, *, group_id: str, actor: Actor, now: datetime) -> AlertGroup:
    group = get_group(session, group_id, for_update=True)
    if group.status == "resolved":
        return group
    group.status, group.resolved_at, group.resolved_by = "resolved", now, actor.name
    paging.stop_escalation(session, group, now=now)
    paging.refresh_messages(session, group, now=now)
    for alert in session.scalars(select(Alert).where(Alert.group_id == group.id, Alert.status == "firing")):
        alert.status, alert.resolved_at = "resolved", now
    audit.record(session, actor=actor, action="resolve", object_type="AlertGroup", object_id=group.id, at=now)
    timeline.record(
        session,
        at=now,
        kind="alert",
        source="incidents",
        title=f"resolved: {group.title}",
        service=group.service,
        team=group.team,
        ref=f"/alerts/{group.id}",
        data={"group_id": group.id, "status": "resolved"},
        dedupe_key=f"alert-group:{group.id}:resolved",
    )
    session.flush()
    runtime.bus.publish(session, AlertGroupResolved(**group_fields(session, group), at=now), now=now)
    return group


def list_groups(session: Session, *, status: str | None = None, limit: int = 200) -> list[AlertGroup]:
    query = select(AlertGroup)
    if status:
        query = query.where(AlertGroup.status == status)
    return list(session.scalars(query.order_by(AlertGroup.opened_at.desc()).limit(limit)))
