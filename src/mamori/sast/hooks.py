"""Webhooks of the sast domain: GitHub's `code_scanning_alert`, signed with the repository's webhook secret
(`MAMORI_SAST_GITHUB_WEBHOOK_SECRET`); unsigned or wrongly signed deliveries are refused."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from mamori.core.errors import Forbidden, Unavailable
from mamori.core.runtime import Runtime
from mamori.sast import github
from mamori.sast.service import github as github_service
from mamori.web.deps import RuntimeDep

router = APIRouter(prefix="/hooks/sast", tags=["hooks"])
SECRET_ENV = "MAMORI_SAST_GITHUB_WEBHOOK_SECRET"  # noqa: S105 (the name of the variable, not a secret)
MAX_BYTES = 5 * 1024 * 1024


class HookOut(BaseModel):
    ok: bool
    detail: str


def _apply(runtime: Runtime, body: bytes) -> str:
    with runtime.sessions.begin() as session:
        return github_service.apply_event(session, payload=body, now=runtime.now(), bus=runtime.bus)


@router.post("/github", response_model=HookOut)
async def github_hook(request: Request, runtime: RuntimeDep) -> HookOut:
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        raise Unavailable(f"GitHub code-scanning webhooks are off: set {SECRET_ENV}")
    body = await request.body()
    if len(body) > MAX_BYTES or not github.signature_ok(
        secret.encode(), body, request.headers.get("x-hub-signature-256")
    ):
        raise Forbidden("the X-Hub-Signature-256 of this delivery does not match the webhook secret")
    event = request.headers.get("x-github-event", "")
    if event == "ping":
        return HookOut(ok=True, detail="pong")
    if event != "code_scanning_alert":
        return HookOut(ok=True, detail=f"ignored {event or 'an unnamed'} event")
    return HookOut(ok=True, detail=await run_in_threadpool(_apply, runtime, body))
