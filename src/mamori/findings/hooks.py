"""Webhook edge of the findings domain: EventBridge API destinations (Security Hub, GuardDuty, Config events)
with an ingest token, and GitHub's `dependabot_alert` webhook signed with the shared secret."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from mamori.core.errors import Forbidden, InvalidInput, Unavailable
from mamori.findings.schemas import import_out
from mamori.findings.service import intake
from mamori.web.deps import Principal, RuntimeDep, require

router = APIRouter(tags=["findings hooks"])
IngestDep = Annotated[Principal, Depends(require("ingest"))]
GITHUB_SECRET_ENV = "MAMORI_FINDINGS_GITHUB_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret
"""The secret GitHub signs `dependabot_alert` deliveries with (X-Hub-Signature-256); unset refuses them."""


async def _import(request: Request, runtime: Any, *, fmt: str | None, actor: str) -> dict[str, Any]:
    payload = await request.body()

    def work() -> dict[str, Any]:
        with intake.concurrent_changes_refused(), runtime.sessions.begin() as session:
            report = intake.import_payload(
                session,
                payload=payload,
                now=runtime.now(),
                actor=actor,
                fmt=fmt,
                name=f"hook {fmt or 'auto'}",
                bus=runtime.bus,
            )
            return import_out(report)

    return await run_in_threadpool(work)


@router.post("/hooks/findings/eventbridge", status_code=202)
async def eventbridge(request: Request, runtime: RuntimeDep, principal: IngestDep) -> JSONResponse:
    """An EventBridge event (or a list): "Security Hub Findings - Imported", "GuardDuty Finding",
    "Config Rules Compliance Change"; the format is read from the event."""
    out = await _import(request, runtime, fmt=None, actor=principal.name)
    return JSONResponse(out, status_code=202)


def check_github_signature(secret: str, body: bytes, signature: str | None) -> None:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(expected, signature):
        raise Forbidden("X-Hub-Signature-256 does not match the payload (check the webhook's secret)")


@router.post("/hooks/findings/github", status_code=202)
async def github(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """GitHub's `dependabot_alert` webhook (created, dismissed, fixed, reintroduced, reopened); other events
    are acknowledged and ignored."""
    secret = os.environ.get(GITHUB_SECRET_ENV)
    if not secret:
        raise Unavailable(f"GitHub webhooks are off: set {GITHUB_SECRET_ENV} to the webhook's secret")
    body = await request.body()
    check_github_signature(secret, body, request.headers.get("x-hub-signature-256"))
    event = request.headers.get("x-github-event", "")
    if event == "ping":
        return JSONResponse({"status": "pong"}, status_code=202)
    if event != "dependabot_alert":
        return JSONResponse({"status": "ignored", "event": event}, status_code=202)
    if not body:
        raise InvalidInput("empty dependabot_alert delivery")
    out = await _import(request, runtime, fmt="dependabot", actor="github")
    return JSONResponse(out, status_code=202)
