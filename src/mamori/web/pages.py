"""Dashboard pages of the kernel: login, the service catalog, timeline, audit log and admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mamori.core import auth
from mamori.core.errors import RateLimited, Unauthenticated
from mamori.web.deps import SESSION_COOKIE, Principal, RuntimeDep, SessionDep, require
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/services") -> Response:
    return render(request, "login.html", {"next": next, "error": None})


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/services"


@router.post("/login")
def login(
    request: Request, session: SessionDep, runtime: RuntimeDep,
    email: Annotated[str, Form()], password: Annotated[str, Form()], next: Annotated[str, Form()] = "/services",
) -> Response:
    settings = runtime.settings
    ip = request.client.host if request.client else "unknown"
    try:
        _, issued = auth.login(
            session, email=email, password=password, ip=ip, now=runtime.now(),
            max_failures=settings.login_max_failures, window=timedelta(seconds=settings.login_window_seconds),
            lifetime=timedelta(hours=settings.session_hours),
        )
    except (Unauthenticated, RateLimited) as exc:
        session.commit()  # keep the failed attempt: it feeds the rate limit
        return render(request, "login.html", {"next": next, "error": exc.detail}, status_code=exc.status)
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, issued.session_id, httponly=True, samesite="lax", secure=settings.session_cookie_secure,
        max_age=settings.session_hours * 3600, path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, _: Viewer, session: SessionDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.logout(session, cookie)
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/services", status_code=303)
