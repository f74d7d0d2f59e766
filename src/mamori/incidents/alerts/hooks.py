"""Webhook edge: alert intake from each source, one-click action links, and Slack interactivity."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from mamori.core import auth
from mamori.core.audit import Actor
from mamori.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from mamori.core.models import User
from mamori.core.runtime import Runtime
from mamori.incidents.alerts import service
from mamori.incidents.alerts.intake import IncomingAlert
from mamori.incidents.alerts.log import IntakeLog
from mamori.incidents.alerts.signing import verify_action, verify_slack
from mamori.incidents.oncall import feeds
from mamori.integrations.text import slack_escape
from mamori.web.deps import ROLE_FOR_SCOPE, Principal, RuntimeDep, SessionDep, require_token_cached
from mamori.web.templating import render

router = APIRouter(tags=["incidents hooks"])
IngestDep = Annotated[Principal, Depends(require_token_cached("ingest"))]
"""The ingest token, checked against the app's token cache (revocation applies within its TTL)."""


async def _accept(request: Request, integration: str, source: str) -> tuple[int, list[IncomingAlert]]:
    """Check the payload in memory and wait until the intake log has committed it; nothing else runs before
    the 2xx (routing, dedup and grouping are the processing job's). A refused payload is kept as rejected."""
    runtime: Runtime = request.app.state.runtime
    try:
        body = await request.body()
    except ClientDisconnect:
        raise InvalidInput("the client went away before its body arrived; nothing was stored") from None
    intake_log = runtime.state(IntakeLog)
    spec = intake_log.cached_spec(integration)
    if spec is None:  # blocking database read: in the threadpool
        spec = await run_in_threadpool(intake_log.load_spec, integration)
    checked = service.check(
        spec,
        integration=integration,
        source=source,
        body=body,
        content_type=request.headers.get("content-type", ""),
        now=runtime.clock.now(),
    )
    intake_id = await asyncio.wrap_future(intake_log.submit(checked.row))
    if checked.error is not None:
        raise checked.error
    return intake_id, checked.alerts


def _accepted(intake_id: int, alerts: list[IncomingAlert]) -> JSONResponse:
    return JSONResponse({"status": "accepted", "intake_id": intake_id, "alerts": len(alerts)}, status_code=202)


@router.post("/hooks/alertmanager/{integration}", status_code=202)
async def alertmanager(integration: str, request: Request, _: IngestDep) -> JSONResponse:
    """Alertmanager webhook v4."""
    return _accepted(*await _accept(request, integration, "alertmanager"))


@router.post("/hooks/grafana/{integration}", status_code=202)
async def grafana(integration: str, request: Request, _: IngestDep) -> JSONResponse:
    """Grafana alerting webhook contact point."""
    return _accepted(*await _accept(request, integration, "grafana"))


@router.post("/hooks/datadog/{integration}", status_code=202)
async def datadog(integration: str, request: Request, _: IngestDep) -> JSONResponse:
    return _accepted(*await _accept(request, integration, "datadog"))


@router.post("/hooks/generic/{integration}", status_code=202)
async def generic(integration: str, request: Request, _: IngestDep) -> JSONResponse:
    return _accepted(*await _accept(request, integration, "generic"))


@router.post("/hooks/pagerduty/{integration}/enqueue", status_code=202)
async def pagerduty(integration: str, request: Request, _: IngestDep) -> JSONResponse:
    """PagerDuty Events API v2 compatible: answers like PagerDuty does."""
    _id, alerts = await _accept(request, integration, "pagerduty")
    return JSONResponse(
        {"status": "success", "message": "Event processed", "dedup_key": alerts[0].dedup_key}, status_code=202
    )


@router.get("/hooks/incidents/action/{token}", response_class=HTMLResponse)
def action_page(token: str, request: Request, session: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    """The link in an email: a confirmation button, so that mail scanners opening links change nothing."""
    data = verify_action(runtime.settings.signing_key(), token, now=runtime.clock.now())
    group = service.get_group(session, str(data["group_id"]))
    context = {"group": group, "action": data["action"], "done": False}
    return render(request, "incidents/one_click.html", context)


@router.post("/hooks/incidents/action/{token}", response_class=HTMLResponse)
def action(token: str, request: Request, session: SessionDep, runtime: RuntimeDep) -> HTMLResponse:
    now = runtime.clock.now()
    data = verify_action(runtime.settings.signing_key(), token, now=now)
    actor = Actor(name=str(data["user"] or "email-link"), source="api")
    if data["action"] == "ack":
        group = service.acknowledge(session, runtime, group_id=str(data["group_id"]), actor=actor, now=now)
    else:
        group = service.resolve(session, runtime, group_id=str(data["group_id"]), actor=actor, now=now)
    session.commit()
    return render(request, "incidents/one_click.html", {"group": group, "action": data["action"], "done": True})


@router.post("/hooks/slack/interactivity")
async def slack_interactivity(request: Request, session: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    """Slack block actions (Ack/Resolve buttons), verified with the app's signing secret."""
    secret = runtime.settings.slack_signing_secret
    if secret is None:
        raise Unavailable("Slack interactivity is not configured (MAMORI_SLACK_SIGNING_SECRET)")
    body = await request.body()
    headers = dict(request.headers)
    return await run_in_threadpool(_slack_action, body, headers, session, runtime)  # the database is blocking


def _slack_action(body: bytes, headers: dict[str, str], session: Session, runtime: Runtime) -> JSONResponse:
    secret = runtime.settings.slack_signing_secret
    if secret is None:
        raise Unavailable("Slack interactivity is not configured (MAMORI_SLACK_SIGNING_SECRET)")
    now = runtime.clock.now()
    verify_slack(
        secret.get_secret_value().encode(),
        timestamp=headers.get("x-slack-request-timestamp"),
        signature=headers.get("x-slack-signature"),
        body=body,
        now=now,
    )
    try:
        payload = json.loads(parse_qs(body.decode())["payload"][0])
        act = payload["actions"][0]
        action_id, slack_user = act["action_id"], payload["user"]["id"]
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise InvalidInput(f"not a Slack block_actions payload: {exc}") from None
    if action_id not in ("ack", "resolve"):  # e.g. the "Open" link button, which carries no value
        return JSONResponse({})
    group_id = act.get("value")
    if not isinstance(group_id, str) or not group_id:
        raise InvalidInput(f"the {action_id} button carries no alert group id")
    user = _slack_user(session, slack_user)
    if user is None:
        return _refusal("your Slack account is not linked to a Mamori user (add a slack contact to your User)")
    try:
        team = service.get_group(session, group_id).team
        if not auth.has_role_for_team(user, team, ROLE_FOR_SCOPE["respond"]):
            where = f" of team {team}" if team else ""
            return _refusal(f"{user.email} may not acknowledge or resolve alerts{where} (a responder role is needed)")
        actor = Actor(name=user.email, source="ui")
        if action_id == "ack":
            group = service.acknowledge(session, runtime, group_id=group_id, actor=actor, now=now)
        else:
            group = service.resolve(session, runtime, group_id=group_id, actor=actor, now=now)
    except (NotFound, Conflict) as exc:  # a deleted group, or an Ack on a resolved one: tell the one who clicked
        return _refusal(str(exc))
    session.commit()
    return JSONResponse(
        {
            "response_type": "in_channel",
            "replace_original": False,
            "text": slack_escape(f"{group.title}: {group.status} by {actor.name}"),
        }
    )


def _refusal(text: str) -> JSONResponse:
    """Slack shows an ephemeral answer to the clicking user only; 200, since Slack treats other statuses as
    a failed delivery and tells the user nothing useful."""
    return JSONResponse({"response_type": "ephemeral", "replace_original": False, "text": slack_escape(text)})


def _slack_user(session: Session, slack_id: str) -> User | None:
    """The active Mamori user whose contacts name this Slack user id, or None (unmapped: no rights at all)."""
    if not slack_id:
        return None
    for user in session.scalars(select(User).where(User.active.is_(True))):
        if any(c.get("type") == "slack" and c.get("user") == slack_id for c in user.contacts or []):
            return user
    return None


@router.get("/hooks/oncall/ical/{token}.ics")
def ical_feed(token: str, session: SessionDep, runtime: RuntimeDep) -> Response:
    """A schedule's or a person's on-call shifts; the signed token in the URL is the only credential."""
    body = feeds.feed(session, runtime.settings, token, now=runtime.clock.now())
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "Content-Disposition": 'inline; filename="oncall.ics"'},
    )
