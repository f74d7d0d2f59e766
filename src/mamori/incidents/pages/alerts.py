"""Alert pages: the groups list with htmx Ack/Resolve, and an alert group's page with Ack, Resolve,
Declare incident and Silence forms."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import deliveries, urls
from mamori.core.errors import InvalidInput
from mamori.incidents.alerts import reach, service, silences
from mamori.incidents.alerts.matchers import Matcher
from mamori.incidents.kinds import stored as config
from mamori.incidents.kinds.documents import EscalationPolicySpec
from mamori.incidents.models import Alert, AlertGroup, Incident, Notification, NotificationAttempt
from mamori.incidents.pages.console import severity_for
from mamori.incidents.pages.routing import Viewer, router
from mamori.incidents.response import service as response
from mamori.web.deps import RuntimeDep, SessionDep, authorize_for_team
from mamori.web.templating import render


@router.get("/alerts", response_class=HTMLResponse)
def alerts(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    return render(request, "incidents/alerts.html", {"groups": service.list_groups(session)})


SILENCE_HOURS = (1, 2, 4, 8, 24, 72)
SILENCE_LABELS = ("alertname", "service", "instance", "job")


def _alert_context(session: Session, group: AlertGroup) -> dict[str, Any]:
    """What the alert page shows: the group's alerts, who was paged by which step and how each send went."""
    alerts = list(session.scalars(select(Alert).where(Alert.group_id == group.id).order_by(Alert.first_seen_at)))
    notes = list(
        session.scalars(
            select(Notification)
            .where(Notification.group_id == group.id)
            .order_by(Notification.round, Notification.step, Notification.created_at)
        )
    )
    tries: dict[str, list[NotificationAttempt]] = {n.id: [] for n in notes}
    if notes:
        query = select(NotificationAttempt).where(NotificationAttempt.notification_id.in_(list(tries)))
        for attempt in session.scalars(query.order_by(NotificationAttempt.at, NotificationAttempt.id)):
            tries[attempt.notification_id].append(attempt)
    links = [
        ("source", alert.generator_url)
        for alert in alerts
        if urls.is_http_url(alert.generator_url) and urls.safe_href(alert.generator_url)
    ] + [
        (key, value)
        for alert in alerts
        for key, value in sorted(alert.annotations.items())
        if urls.is_http_url(value) and urls.safe_href(value)
    ]
    first = alerts[0].labels if alerts else {}
    steps = _steps(group.policy_snapshot)
    matchers = [str(Matcher(k, "=", first[k])) for k in SILENCE_LABELS if isinstance(first.get(k), str)]
    return {
        "g": group,
        "alerts": alerts,
        "notes": [(n, tries[n.id], steps.get(n.step, "")) for n in notes],
        "links": list(dict.fromkeys(links)),
        "incident": session.get(Incident, group.incident_id) if group.incident_id else None,
        "deliveries": deliveries.for_subject(session, f"incidents:alert_group:{group.id}"),
        "severities": list(config.severities(session).values()),
        "silence_matchers": "\n".join(matchers),
        "silence_hours": SILENCE_HOURS,
        "reach": reach.group_reach(session, group),
    }


def _steps(snapshot: dict[str, Any] | None) -> dict[int, str]:
    """Whom each step of the group's escalation policy (as it was when the group opened) names."""
    if not snapshot:
        return {}
    out = {}
    for index, step in enumerate(EscalationPolicySpec.model_validate(snapshot["spec"]).steps):
        whom = [f"schedule {step.notify.schedule}"] if step.notify.schedule else []
        whom += list(step.notify.users) + ([f"team {step.notify.team}"] if step.notify.team else [])
        out[index] = ", ".join(whom)
    return out


@router.get("/alerts/{group_id}", response_class=HTMLResponse)
def alert(group_id: str, request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    group = service.get_group(session, group_id)
    return render(request, "incidents/alert.html", _alert_context(session, group))


@router.post("/alerts/{group_id}/declare")
def declare_from_alert(  # noqa: PLR0917 - FastAPI passes form fields by name
    group_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Viewer,
    title: Annotated[str, Form()] = "",
    severity: Annotated[str, Form()] = "",
    commander: Annotated[str, Form()] = "",
) -> Response:
    """Declare an incident from this alert group (which then links to it); an already linked group opens it."""
    group = service.get_group(session, group_id)
    authorize_for_team(who, group.team, "respond")
    if group.incident_id:
        return RedirectResponse(f"/incidents/{group.incident_id}", status_code=303)
    incident = response.declare(
        session,
        runtime,
        title=title.strip() or group.title,
        severity=severity or severity_for(session, group.severity),
        group_id=group.id,
        commander=commander.strip() or None,
        actor=who.actor("ui"),
        now=runtime.now(),
    )
    session.commit()
    return RedirectResponse(f"/incidents/{incident.id}", status_code=303)


@router.post("/alerts/{group_id}/silence")
def silence_alert(  # noqa: PLR0917 - FastAPI passes form fields by name
    group_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    who: Viewer,
    matchers: Annotated[str, Form()] = "",
    hours: Annotated[str, Form()] = "2",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Silence alerts matching these labels (one matcher a line) for a few hours."""
    group = service.get_group(session, group_id)
    authorize_for_team(who, group.team, "respond")
    try:
        duration = timedelta(hours=float(hours))
    except (ValueError, OverflowError):
        raise InvalidInput(f"hours must be a number, not {hours[:50]!r}") from None
    if not timedelta(minutes=1) <= duration <= timedelta(days=30):
        raise InvalidInput("a silence from the alert page lasts between a minute and 30 days")
    now = runtime.now()
    silences.create_silence(
        session,
        matchers=[line.strip() for line in matchers.splitlines() if line.strip()],
        starts_at=now,
        ends_at=now + duration,
        comment=comment.strip() or f"silenced from the page of alert group {group.id}",
        actor=who.actor("ui"),
        now=now,
    )
    session.commit()
    return RedirectResponse(f"/alerts/{group.id}?silenced=1", status_code=303)


@router.post("/alerts/{group_id}/{action}", response_class=HTMLResponse)
def act(
    group_id: str,
    action: Literal["ack", "resolve"],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    *,
    who: Viewer,
    back: Annotated[str, Form()] = "",
) -> Response:
    """Ack or resolve: the list's htmx buttons get the row back, the alert page's forms (back=page) the page."""
    authorize_for_team(who, service.get_group(session, group_id).team, "respond")
    verb = service.acknowledge if action == "ack" else service.resolve
    group = verb(session, runtime, group_id=group_id, actor=who.actor("ui"), now=runtime.now())
    session.commit()
    if back == "page":
        return RedirectResponse(f"/alerts/{group.id}", status_code=303)
    return render(request, "incidents/_group_row.html", {"g": group})
