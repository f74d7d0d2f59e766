"""Dashboard pages of the kernel: login, the service catalog, timeline and audit log (admin: admin_pages)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mamori.core import audit, auth, catalog, reliability, timeline
from mamori.core.clock import utc
from mamori.core.errors import MamoriError, RateLimited, Unauthenticated
from mamori.core.runtime import Runtime
from mamori.web.api import catalog_slots
from mamori.web.deps import SESSION_COOKIE, Principal, RuntimeDep, SessionDep, require
from mamori.web.templating import render, service_notices

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]


# --- login -------------------------------------------------------------------------------------


LOGIN_CSRF_COOKIE = "mamori_login"
"""The login form's own CSRF token (double submit): a page on another site cannot read it, so it cannot
log a victim's browser into the attacker's account (login CSRF)."""


def _login_page(
    request: Request, next: str, error: str | None, *, status_code: int = 200, keep: bool = False
) -> Response:
    """The form; `keep` re-renders it with the browser's current token (after a wrong password) instead of
    issuing a new one."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    token = current if keep and current else secrets.token_urlsafe(24)
    response = render(
        request, "login.html", {"next": _safe_next(next), "error": error, "login_csrf": token}, status_code=status_code
    )
    if token != current:
        secure = request.app.state.runtime.settings.session_cookie_secure
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=3600, path="/login"
        )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/services") -> Response:
    return _login_page(request, next, None)


def _safe_next(target: str) -> str:
    """A path on Mamori itself; `//host`, `/\\host` (which browsers read as `//host`) and anything else go home."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or any(c in target for c in "\\\r\n\t"):
        return "/services"
    return target


@router.post("/login")
def login(
    *,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/services",
    login_csrf: Annotated[str, Form()] = "",
) -> Response:
    settings = runtime.settings
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), login_csrf.encode()):
        error = "This login form expired or was sent from another site. Please log in again."
        return _login_page(request, next, error, status_code=403)
    ip = request.client.host if request.client else "unknown"
    try:
        _, issued = auth.login(
            session,
            email=email,
            password=password,
            ip=ip,
            now=runtime.now(),
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_window_seconds),
            lifetime=timedelta(hours=settings.session_hours),
        )
    except (Unauthenticated, RateLimited) as exc:
        session.commit()  # keep the failed attempt: it feeds the rate limit
        return _login_page(request, next, exc.detail, status_code=exc.status, keep=True)
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.session_id,
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
        max_age=settings.session_hours * 3600,
        path="/",
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


# --- filters -----------------------------------------------------------------------------------


@dataclass
class Window:
    """A since/until pair read from a filter form; bad values become messages, not errors."""

    since: datetime | None = None
    until: datetime | None = None
    errors: list[str] = field(default_factory=list)


def _instant(value: str, name: str, errors: list[str]) -> datetime | None:
    raw = value.strip()
    if not raw:
        return None
    try:
        return utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        errors.append(f"{name}: {raw!r} is not a date and time; use e.g. 2026-11-28T12:00 (UTC)")
        return None


def _window(since: str, until: str) -> Window:
    errors: list[str] = []
    return Window(_instant(since, "since", errors), _instant(until, "until", errors), errors)


def _partial(request: Request) -> bool:
    """An htmx request for just the list (not a history restore, which needs the whole page)."""
    return "hx-request" in request.headers and "hx-history-restore-request" not in request.headers


# --- catalog -----------------------------------------------------------------------------------


def _slot_columns(runtime: Runtime) -> list[tuple[str, str]]:
    return [
        (slot.key, slot.title) for plugin in runtime.plugins for slot in sorted(plugin.slots, key=lambda s: s.order)
    ]


@router.get("/services", response_class=HTMLResponse)
def services_page(request: Request, _: Viewer, session: SessionDep, runtime: RuntimeDep) -> Response:
    services = catalog.list_services(session)
    slots = catalog_slots(session, runtime, [s.name for s in services])
    return render(
        request,
        "services.html",
        {
            "services": services,
            "columns": _slot_columns(runtime),
            "slots": slots,
        },
    )


@router.get("/services/{name}", response_class=HTMLResponse)
def service_page(request: Request, name: str, _: Viewer, session: SessionDep, runtime: RuntimeDep) -> Response:
    try:
        service = catalog.get_service(session, name)
    except MamoriError as exc:
        return render(request, "error.html", {"status": exc.status, "message": exc.detail}, status_code=exc.status)
    events = timeline.list_events(session, services=[name], limit=50)
    return render(
        request,
        "service.html",
        {
            "service": service,
            "columns": _slot_columns(runtime),
            "slots": catalog_slots(session, runtime, [name]),
            "events": events,
            "notices": service_notices(session, runtime, [name]),
            "reliability": reliability.standings(runtime, session, [name])[name],
            "levels": [(level, reliability.TITLES[level]) for level in reliability.LEVELS],
        },
    )


# --- timeline and audit ------------------------------------------------------------------------


@router.get("/timeline", response_class=HTMLResponse)
def timeline_page(
    *,
    request: Request,
    _: Viewer,
    session: SessionDep,
    service: str = "",
    kind: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    window = _window(since, until)
    events = timeline.list_events(
        session,
        services=[service] if service else None,
        kinds=[kind] if kind else None,
        since=window.since,
        until=window.until,
        limit=300,
    )
    context = {
        "events": events,
        "errors": window.errors,
        "filters": {"service": service, "kind": kind, "since": since, "until": until},
        "services": [s.name for s in catalog.list_services(session)],
        "kinds": timeline.KINDS,
    }
    return render(request, "timeline_rows.html" if _partial(request) else "timeline.html", context)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    *,
    request: Request,
    _: Viewer,
    session: SessionDep,
    object_type: str = "",
    actor: str = "",
    source: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    window = _window(since, until)
    if source and source not in audit.SOURCES:
        window.errors.append(f"source: {source!r} is not one of {', '.join(audit.SOURCES)}")
        source = ""
    entries = audit.list_entries(
        session,
        object_type=object_type or None,
        actor=actor or None,
        source=source or None,
        since=window.since,
        until=window.until,
        limit=300,
    )
    context = {
        "entries": entries,
        "errors": window.errors,
        "sources": audit.SOURCES,
        "filters": {"object_type": object_type, "actor": actor, "source": source, "since": since, "until": until},
    }
    return render(request, "audit_rows.html" if _partial(request) else "audit.html", context)
