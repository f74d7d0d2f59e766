"""The demo's Inbox page: the pages, notifications and tickets Mamori sent in the demo (integrations/inbox.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mamori.core import deliveries
from mamori.core.errors import NotFound
from mamori.core.runtime import Runtime
from mamori.integrations.inbox import Inbox
from mamori.web.deps import Reader, RuntimeDep, SessionDep
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
CHANNELS = ("email", "slack", "jira", "github")


def inbox_of(runtime: Runtime) -> Inbox | None:
    """The runtime's demo inbox; None outside the demo."""
    try:
        return runtime.state(Inbox)
    except LookupError:
        return None


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request, _: Reader, session: SessionDep, runtime: RuntimeDep, channel: str | None = None
) -> Response:
    inbox = inbox_of(runtime)
    if inbox is None:
        raise NotFound("there is no inbox here: it is the demo's (`mamori demo`); real deliveries are under Admin")
    chosen = channel if channel in CHANNELS else None
    context = {
        "messages": inbox.newest_first(channel=chosen),
        "channel": chosen or "",
        "channels": CHANNELS,
        "deliveries": deliveries.search(session, limit=30),
        "show_subject": True,
    }
    return render(request, "inbox.html", context)
