"""Jinja templates for the dashboard: Mamori's base layout plus each domain's own template folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from mamori.core import urls
from mamori.core.runtime import NavEntry, Runtime, ServiceNotice
from mamori.integrations.inbox import Inbox
from mamori.web import markdown

TEMPLATES = Path(__file__).resolve().parent / "templates"

CORE_NAV = [
    NavEntry("Services", "/services", 10),
    NavEntry("Timeline", "/timeline", 80),
    NavEntry("Audit log", "/audit", 90),
    NavEntry("Admin", "/admin", 95),
]


def make_environment(runtime: Runtime) -> Environment:
    folders = [TEMPLATES] + [p.templates_dir for p in runtime.plugins if p.templates_dir is not None]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["href"] = lambda v: urls.safe_href(v) or "#unsafe-link"
    env.filters["dt"] = lambda v: v.strftime("%Y-%m-%d %H:%M UTC") if v else ""
    env.filters["markdown"] = markdown.to_html
    return env


INBOX_NAV = NavEntry("Inbox", "/inbox", 15)
"""Shown in the demo only (its runtime has an inbox: `mamori.integrations.inbox`)."""


def navigation(runtime: Runtime) -> list[NavEntry]:
    entries = list(CORE_NAV)
    try:
        runtime.state(Inbox)
        entries.append(INBOX_NAV)
    except LookupError:
        pass
    for plugin in runtime.plugins:
        entries.extend(plugin.nav)
    return sorted(entries, key=lambda e: (e.order, e.title))


def service_notices(session: Session, runtime: Runtime, services: list[str]) -> list[ServiceNotice]:
    """Every domain's notices for these services (a release freeze with its lift and bypass forms, ...), for a
    page to show with `{% include "_notices.html" %}`."""
    names = [s for s in dict.fromkeys(services) if s]
    if not names:
        return []
    now = runtime.now()
    return [notice for plugin in runtime.plugins for source in plugin.notices for notice in source(session, names, now)]


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the layout's context (navigation, the user, the CSRF token)."""
    env: Environment = request.app.state.templates
    runtime: Runtime = request.app.state.runtime
    principal = getattr(request.state, "principal", None)
    base = {
        "request": request,
        "nav": navigation(runtime),
        "user": principal.user if principal else None,
        "csrf_token": principal.csrf_token if principal else "",
        "path": request.url.path,
    }
    html = env.get_template(template).render({**base, **(context or {})})
    return HTMLResponse(html, status_code=status_code)
