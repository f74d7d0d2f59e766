"""Edges outside /api/v1: GitHub deliveries (authenticated by their X-Hub-Signature-256, no API token), Slack
Events API callbacks for inquiries (Slack's v0 signature), and the Prometheus scrape of the delivery figures."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from mamori.core.errors import Forbidden, InvalidInput, Unavailable
from mamori.core.runtime import Runtime
from mamori.delivery import kinds
from mamori.delivery.parsers import github, inquiries
from mamori.delivery.schemas import IntakeOut
from mamori.delivery.service import export, intake
from mamori.delivery.service import inquiries as inquiry_service
from mamori.delivery.service.cache import PolicyCache
from mamori.delivery.sinks import exposition
from mamori.web.deps import Reader, RuntimeDep, SessionDep

router = APIRouter(tags=["delivery hooks"])


@router.post(
    "/hooks/github/{integration}",
    response_model=IntakeOut,
    status_code=202,
    responses={
        200: {"model": IntakeOut, "description": "a delivery seen before (counted once) or a ping"},
        401: {"description": "no X-Hub-Signature-256"},
        403: {"description": "the signature does not match"},
        400: {"description": "not JSON, or X-GitHub-Event / X-GitHub-Delivery missing"},
        422: {"description": "a field Mamori needs is missing; the problem names its path"},
    },
)
async def github_webhook(integration: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    """A GitHub webhook. Its secret is `mamori delivery github-secret <integration>`."""
    body = await request.body()
    hook = intake.WebhookRequest(
        event=request.headers.get("x-github-event"),
        delivery_id=request.headers.get("x-github-delivery"),
        signature=request.headers.get("x-hub-signature-256"),
        body=body,
    )
    result = await run_in_threadpool(_store, runtime, integration, hook)  # the database is blocking
    code = 200 if result.status in ("duplicate", "pong") else 202
    out = IntakeOut(status=result.status, delivery_id=result.delivery_id, event=result.event, records=result.records)
    return JSONResponse(out.model_dump(mode="json"), status_code=code)


def _store(runtime: Runtime, integration: str, hook: intake.WebhookRequest) -> intake.Intake:
    secret = github.integration_secret(runtime.settings.signing_key(), integration)
    with runtime.sessions.begin() as session:
        policy = runtime.state(PolicyCache).get(session)
        return intake.accept_github(
            session, bus=runtime.bus, secret=secret, request=hook, now=runtime.now(), policy=policy
        )


@router.get("/metrics/delivery", response_class=PlainTextResponse, tags=["delivery"])
def prometheus_metrics(_: Reader, session: SessionDep, runtime: RuntimeDep) -> PlainTextResponse:
    """Every delivery figure (DORA per service with its band, build steps, tests, coverage) in Prometheus
    text format, for a scrape with a read token."""
    text = export.prometheus_text(session, now=runtime.now(), policy=kinds.policy(session))
    return PlainTextResponse(text, media_type=exposition.CONTENT_TYPE)


@router.post("/hooks/delivery/slack/events", tags=["delivery hooks"])
async def slack_events(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Slack Events API: messages in the policy's inquiry channels, verified with the app's signing secret."""
    body = await request.body()
    headers = dict(request.headers)
    return await run_in_threadpool(_slack_event, runtime, headers, body)


def _slack_event(runtime: Runtime, headers: dict[str, str], body: bytes) -> JSONResponse:
    secret = runtime.settings.slack_signing_secret
    if secret is None:
        raise Unavailable("Slack events are not configured (MAMORI_SLACK_SIGNING_SECRET)")
    try:
        inquiries.verify_slack(
            secret.get_secret_value().encode(),
            timestamp=headers.get("x-slack-request-timestamp"),
            signature=headers.get("x-slack-signature"),
            body=body,
            now=runtime.now(),
        )
    except inquiries.SlackSignatureError as exc:
        raise Forbidden(str(exc)) from None
    try:
        envelope = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise InvalidInput("the body must be a JSON object")
    if envelope.get("type") == "url_verification":
        return JSONResponse({"challenge": str(envelope.get("challenge", ""))})
    with runtime.sessions.begin() as session:
        config = runtime.state(PolicyCache).get(session).inquiries
        change = inquiries.slack_event(envelope, channels=set(config.slack_channels))
        outcome = "ignored" if change is None else inquiry_service.apply_slack(session, change=change, config=config)
    return JSONResponse({"status": outcome})
