"""Dashboard pages for flags: each environment's flags with kill switch, rollout control and targeting JSON."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mamori.core import deliveries
from mamori.core.errors import MamoriError, NotFound, ValidationFailed
from mamori.flags import etags, ramps, service, serving, stale
from mamori.flags.diff import diff_lines
from mamori.flags.models import FlagChange
from mamori.web.deps import Reader, RuntimeDep, SessionDep, Writer
from mamori.web.templating import render, service_notices

router = APIRouter(include_in_schema=False)


@router.get("/flags", response_class=HTMLResponse)
def flags_index(request: Request, _: Reader, session: SessionDep) -> Response:
    environments = serving.list_environments(session)
    if environments:
        return RedirectResponse(f"/flags/{environments[0].environment}", status_code=303)
    return render(request, "flags/environment.html", {"environments": [], "current": None, "flags": []})


def _page(request: Request, session: Any, environment: str, error: str | None = None, status: int = 200) -> Response:
    row = serving.get_environment(session, environment=environment)
    flags = service.flag_summaries(session, environment=environment)
    for flag in flags:
        flag["targeting_json"] = json.dumps(flag["targeting"], indent=2) if flag["targeting"] else ""
        flag["etag"] = service.current_etag(row, key=flag["key"])
    pending = [
        {"change": change, "diff": diff_lines(change.before, change.after)}
        for change in service.list_changes(session, environment=environment, status="pending")
    ]
    context = {
        "environments": serving.list_environments(session),
        "current": row,
        "flags": flags,
        "error": error,
        "ramps": ramps.list_ramps(session, environment=environment),
        "pending": pending,
        "stale": stale.marks(session),
        "next_environment": service.next_environment(session, environment=environment),
        "notice": request.query_params.get("notice"),
        "deliveries": deliveries.search(session, subject=f"flags:flag:{environment}/", limit=50),
        "notices": service_notices(session, request.app.state.runtime, [row.service or ""]),
    }
    return render(request, "flags/environment.html", context, status_code=status)


@router.get("/flags/{environment}", response_class=HTMLResponse)
def environment_page(request: Request, environment: str, _: Reader, session: SessionDep) -> Response:
    return _page(request, session, environment)


def _done(request: Request, session: Any, environment: str, work: Any) -> Response:
    try:
        change = work()
    except MamoriError as exc:
        session.rollback()
        details = "; ".join(p.render() for p in exc.problems)
        return _page(request, session, environment, error=f"{exc.detail} {details}".strip(), status=exc.status)
    session.commit()
    status = getattr(change, "status", "")
    notice = {"pending": "pending-approval", "rejected": "rejected"}.get(status, "saved")
    return RedirectResponse(f"/flags/{environment}?notice={notice}", status_code=303)


FLAG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


@router.post("/flags/{environment}/new")
def create_form(
    request: Request,
    environment: str,
    *,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    key: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    """A new boolean flag, enabled and serving `off` to everyone until it is rolled out."""

    def create() -> Any:
        if not FLAG_KEY.match(key):
            raise ValidationFailed(
                f"flag key: 1-100 letters, digits, '_', '.', '-', starting with a letter, not {key!r}"
            )
        if key in serving.get_environment(session, environment=environment).document.get("flags", {}):
            raise ValidationFailed(f"flag {key!r} exists already in {environment}")
        flag = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}
        return service.change_flag(
            session,
            environment=environment,
            key=key,
            flag=flag,
            action="create",
            actor=principal.actor(),
            reason=reason,
            now=runtime.now(),
        )

    return _done(request, session, environment, create)


@router.post("/flags/{environment}/{key}/toggle")
def toggle_form(
    request: Request,
    environment: str,
    key: str,
    *,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    enabled: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _done(
        request,
        session,
        environment,
        lambda: service.toggle(
            session,
            environment=environment,
            key=key,
            enabled=enabled == "true",
            actor=principal.actor(),
            reason=reason,
            now=runtime.now(),
        ),
    )


@router.post("/flags/{environment}/{key}/rollout")
def rollout_form(
    request: Request,
    environment: str,
    key: str,
    *,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    percent: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    return _done(
        request,
        session,
        environment,
        lambda: service.set_rollout(
            session,
            environment=environment,
            key=key,
            percent=percent,
            actor=principal.actor(),
            reason=reason,
            now=runtime.now(),
        ),
    )


@router.post("/flags/{environment}/{key}/targeting")
def targeting_form(
    request: Request,
    environment: str,
    key: str,
    *,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    targeting: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    etag: Annotated[str, Form()] = "",
) -> Response:
    """Save the edited targeting JSON: refused (412) if the flag changed since the page showed it (`etag`),
    since the text area holds the targeting as it was then and would silently undo the other change."""

    def work() -> Any:
        try:
            rule = json.loads(targeting) if targeting.strip() else None
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"targeting is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
        except RecursionError:
            raise ValidationFailed("targeting is nested too deeply") from None
        flag = service.get_flag(session, environment=environment, key=key, for_update=True)
        if rule is not None and rule != {}:  # anything else (false, [], 0) is checked, and refused, as targeting
            flag["targeting"] = rule
        else:
            flag.pop("targeting", None)
        try:
            return service.change_flag(
                session,
                environment=environment,
                key=key,
                flag=flag,
                action="targeting",
                actor=principal.actor(),
                reason=reason,
                now=runtime.now(),
                if_match=(etag,) if etag else None,
            )
        except etags.PreconditionFailed:
            raise etags.PreconditionFailed(
                f"{key} changed since this page showed it, so the targeting you edited is out of date; "
                "nothing was saved: reload the page and edit it again"
            ) from None

    return _done(request, session, environment, work)


@router.post("/flags/{environment}/{key}/promote")
def promote_form(
    request: Request,
    environment: str,
    key: str,
    *,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    target: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Copy this flag's configuration to the next environment (or the one named in `target`)."""

    def work() -> Any:
        to = target.strip() or service.next_environment(session, environment=environment)
        if to is None:
            raise ValidationFailed(f"{environment} is the last environment: there is nothing to promote to")
        return service.promote(
            session,
            key=key,
            source=environment,
            target=to,
            actor=principal.actor(),
            reason=reason,
            now=runtime.now(),
        )

    return _done(request, session, environment, work)


@router.post("/flags/{environment}/changes/{change_id}/{decision}")
def decide_form(
    request: Request,
    environment: str,
    change_id: str,
    decision: str,
    *,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Approve or reject a pending change (a second person approves; the requester may reject their own)."""

    def work() -> Any:
        if decision not in ("approve", "reject"):
            raise ValidationFailed(f"decision must be approve or reject, not {decision!r}")
        pending = session.get(FlagChange, change_id)
        if pending is None or pending.environment != environment:
            raise NotFound(f"no flag change {change_id!r} in {environment}")
        change = ramps.decide_change(
            session,
            change_id=change_id,
            approve=decision == "approve",
            actor=principal.actor(),
            now=runtime.now(),
            reason=reason.strip() or None,
        )
        return change

    return _done(request, session, environment, work)
