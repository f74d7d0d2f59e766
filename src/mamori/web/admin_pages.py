"""Admin pages of the kernel: users, API tokens, and the job queue (troubled jobs, requeue)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mamori.core import auth, catalog, deliveries, jobs
from mamori.core.errors import MamoriError, ValidationFailed
from mamori.core.models import ROLES, Job
from mamori.web.deps import Admin, RuntimeDep, SessionDep
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)

TOKEN_SCOPES = ("read", "write", "admin", "ingest")
# A queued job this far past its run time means no worker is taking jobs.
OVERDUE = timedelta(minutes=5)
NOTICES = {
    "user-created": "User created.",
    "token-revoked": "Token revoked.",
    "job-requeued": "Job put back in the queue.",
}


def _admin_context(session: Session, **extra: Any) -> dict[str, Any]:
    return {
        "users": catalog.list_users(session),
        "teams": catalog.list_teams(session),
        "tokens": auth.list_tokens(session),
        "roles": ROLES,
        "scopes": TOKEN_SCOPES,
        "error": None,
        "notice": None,
        **extra,
    }


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, _: Admin, session: SessionDep, runtime: RuntimeDep, done: str = "") -> Response:
    return render(request, "admin.html", _admin_context(session, notice=NOTICES.get(done), now=runtime.now()))


@router.post("/admin/users", response_class=HTMLResponse)
def admin_create_user(
    *,
    request: Request,
    principal: Admin,
    session: SessionDep,
    runtime: RuntimeDep,
    email: Annotated[str, Form()],
    name: Annotated[str, Form()],
    role: Annotated[str, Form()] = "viewer",
    password: Annotated[str, Form()] = "",
    time_zone: Annotated[str, Form()] = "UTC",
) -> Response:
    try:
        auth.create_user(
            session,
            email=email.strip(),
            name=name.strip() or email.strip(),
            role=role,
            password=password or None,
            time_zone=_time_zone(time_zone),
            now=runtime.now(),
            actor=principal.actor(),
        )
        session.commit()
    except MamoriError as exc:
        session.rollback()
        return render(
            request, "admin.html", _admin_context(session, error=exc.detail, now=runtime.now()), status_code=exc.status
        )
    return RedirectResponse("/admin?done=user-created", status_code=303)


def _time_zone(value: str) -> str:
    try:
        return catalog.check_time_zone(value.strip() or "UTC")
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None


def _days(value: str) -> int | None:
    raw = value.strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= 3650:
        raise ValidationFailed(f"expiry: {raw!r} is not a number of days between 1 and 3650")
    return int(raw)


@router.post("/admin/tokens", response_class=HTMLResponse)
def admin_create_token(
    *,
    request: Request,
    principal: Admin,
    session: SessionDep,
    runtime: RuntimeDep,
    name: Annotated[str, Form()] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    expires_in_days: Annotated[str, Form()] = "",
) -> Response:
    try:
        days = _days(expires_in_days)
        issued = auth.create_token(
            session,
            user=principal.user,
            scopes=scopes or [],
            name=name.strip(),
            expires_in=timedelta(days=days) if days else None,
            now=runtime.now(),
            actor=principal.actor(),
        )
        session.commit()
    except MamoriError as exc:
        session.rollback()
        return render(
            request, "admin.html", _admin_context(session, error=exc.detail, now=runtime.now()), status_code=exc.status
        )
    response = render(request, "token_created.html", {"token": issued.token, "secret": issued.secret})
    response.headers["Cache-Control"] = "no-store"  # the secret must not linger in any cache
    return response


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(token_id: str, principal: Admin, session: SessionDep, runtime: RuntimeDep) -> Response:
    auth.revoke_token(session, token_id=token_id, now=runtime.now(), actor=principal.actor())
    session.commit()
    return RedirectResponse("/admin?done=token-revoked", status_code=303)


def _troubled_jobs(session: Session, now: datetime) -> tuple[list[Job], list[Job]]:
    """Failed jobs, and stuck ones: running past their lease, or queued long past their time."""
    failed = jobs.list_jobs(session, status="failed", limit=200)
    stuck = list(
        session.scalars(
            select(Job)
            .where(
                or_(
                    (Job.status == "running") & (Job.lease_until < now),
                    (Job.status == "queued") & (Job.run_at < now - OVERDUE),
                )
            )
            .order_by(Job.run_at)
            .limit(200)
        )
    )
    return failed, stuck


@router.get("/admin/jobs", response_class=HTMLResponse)
def admin_jobs_page(request: Request, _: Admin, session: SessionDep, runtime: RuntimeDep, done: str = "") -> Response:
    now = runtime.now()
    failed, stuck = _troubled_jobs(session, now)
    return render(
        request,
        "jobs.html",
        {
            "failed": failed,
            "stuck": stuck,
            "now": now,
            "stats": jobs.stats(session, now=now),
            "notice": NOTICES.get(done),
        },
    )


@router.post("/admin/jobs/{job_id}/retry")
def admin_retry_job(
    request: Request,
    job_id: int,
    principal: Admin,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    if not jobs.retry(session, job_id=job_id, now=runtime.now(), actor=principal.actor()):
        return render(request, "error.html", {"status": 404, "message": f"no failed job {job_id}"}, status_code=404)
    session.commit()
    return RedirectResponse("/admin/jobs?done=job-requeued", status_code=303)


@router.get("/admin/deliveries", response_class=HTMLResponse)
def admin_deliveries_page(
    request: Request, _: Admin, session: SessionDep, runtime: RuntimeDep, source: str = "", result: str = ""
) -> Response:
    """Every outbound attempt of every domain, newest first, filtered by domain and result."""
    ok = {"failed": False, "delivered": True}.get(result)
    return render(
        request,
        "deliveries.html",
        {
            "deliveries": deliveries.search(session, source=source or None, ok=ok),
            "totals": deliveries.totals(session),
            "sources": sorted(p.name for p in runtime.plugins if p.name != "core"),
            "source": source,
            "result": result,
        },
    )
