"""Flags HTTP API under /api/v1/flags: flagd.json sync, flag reads and edits, approvals, ramps, SDK counts.

Reads of a flag, of an environment's flags and of flagd.json carry an ETag; edits of a flag take If-Match
(the flag's ETag or the whole set's) and answer 412 when it no longer holds. Edits without If-Match are
never lost either: each takes the environment's row lock, so concurrent edits apply one after another."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from mamori.core import auth
from mamori.core.errors import Forbidden
from mamori.core.models import ApiToken
from mamori.flags import counts, etags, ramps, service, serving, stale
from mamori.flags.diff import diff_lines
from mamori.flags.models import FlagChange, FlagRamp
from mamori.flags.schemas import (
    ChangeOut,
    CountsStoredOut,
    EnvironmentOut,
    FlagIn,
    FlagOut,
    FlagSummary,
    RampOut,
    ScheduledOut,
    StaleFlagOut,
)
from mamori.web.deps import Reader, RuntimeDep, SessionDep, Writer, authenticate, bearer_token

router = APIRouter(prefix="/flags", tags=["flags"])


def _check_sdk_key(token: ApiToken, environment: str) -> None:
    if "flags:evaluate" not in token.scopes:
        raise Forbidden("X-API-Key takes an SDK key (a flags:evaluate token)")
    if token.environment != environment:
        raise Forbidden(f"this SDK key is for {token.environment!r}, not {environment!r}")


def _sdk_key_or(need: str) -> Any:
    """A dependency: an SDK key of this very environment (what a flagd daemon or an SDK sends), or a user or
    token with the `need` permission."""

    def check(request: Request, session: SessionDep, runtime: RuntimeDep, environment: str) -> str:
        api_key = request.headers.get("x-api-key")
        if api_key and bearer_token(request) is None:
            _check_sdk_key(auth.authenticate_token(session, api_key, now=runtime.now()), environment)
            session.commit()
            return environment
        principal = authenticate(request, session, runtime)
        if principal.token is not None and principal.token.scopes == ["flags:evaluate"]:
            _check_sdk_key(principal.token, environment)
        elif not principal.allows(need):
            raise Forbidden(f"{principal.name} lacks the {need!r} permission")
        return environment

    return check


FlagdReader = Annotated[str, Depends(_sdk_key_or("read"))]
CountReporter = Annotated[str, Depends(_sdk_key_or("write"))]
IfMatch = Annotated[
    str | None,
    Header(
        description="the flag's ETag (from GET .../flags/{key}) or the flag set's (from GET .../flags or "
        "flagd.json), or `*`: the change is made only if it still holds, else 412 Precondition Failed"
    ),
]


STALE: dict[int | str, dict[str, Any]] = {
    412: {"description": "If-Match does not hold: the flag (or its flag set) changed since it was read"}
}


def _tag_flag(response: Response, session: SessionDep, change: FlagChange) -> None:
    """The flag's ETag after a change, so that the client's next conditional write can name it."""
    tag = service.current_etag(serving.get_environment(session, environment=change.environment), key=change.flag_key)
    if tag is not None:
        response.headers["ETag"] = tag


def change_out(change: FlagChange) -> ChangeOut:
    return ChangeOut(
        id=change.id,
        environment=change.environment,
        flag_key=change.flag_key,
        action=change.action,
        status=change.status,
        actor=change.actor,
        reason=change.reason,
        diff=diff_lines(change.before, change.after),
        created_at=change.created_at.isoformat(),
        decided_by=change.decided_by,
    )


FLAGD_DOCUMENT = {
    "description": "the environment's flag set in the flagd format (flagd's flags.json schema), with an ETag",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["flags"],
                "properties": {"flags": {"type": "object"}, "metadata": {"type": "object"}},
            }
        }
    },
}


@router.get(
    "/{environment}/flagd.json",
    response_model=None,
    responses={200: FLAGD_DOCUMENT, 304: {"description": "not modified"}},
)
def flagd_json(environment: FlagdReader, request: Request, session: SessionDep) -> Response:
    row = serving.get_environment(session, environment=environment)
    headers = {"ETag": row.etag, "Cache-Control": "no-cache", "X-Mamori-Fractional": row.fractional}
    if row.etag in [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(service.flagd_json(row), media_type="application/json", headers=headers)


@router.get("/stale", response_model=list[StaleFlagOut])
def stale_flags(
    _: Reader, session: SessionDep, runtime: RuntimeDep, days: Annotated[int, Query(ge=1, le=3650)] = 30
) -> list[dict[str, Any]]:
    return stale.find_stale(session, days=days, now=runtime.now())


@router.get("/environments", response_model=list[EnvironmentOut])
def list_environments(_: Reader, session: SessionDep) -> list[dict[str, Any]]:
    return [
        {
            "environment": r.environment,
            "flag_set": r.flag_set,
            "version": r.version,
            "etag": r.etag,
            "fractional": r.fractional,
            "service": r.service,
            "require_approval": r.require_approval,
            "flags": len(r.document.get("flags", {})),
        }
        for r in serving.list_environments(session)
    ]


@router.get("/{environment}/flags", response_model=list[FlagSummary])
def list_flags(environment: str, _: Reader, session: SessionDep, response: Response) -> list[dict[str, Any]]:
    response.headers["ETag"] = serving.get_environment(session, environment=environment).etag
    return service.flag_summaries(session, environment=environment)


@router.get("/{environment}/flags/{key}", response_model=FlagOut, response_model_exclude_none=True)
def get_flag(environment: str, key: str, _: Reader, session: SessionDep, response: Response) -> dict[str, Any]:
    """One flag in flagd form (what PUT takes as `flag`), with its ETag for If-Match."""
    flag = service.get_flag(session, environment=environment, key=key)
    response.headers["ETag"] = etags.flag_etag(environment, key, flag)
    return flag


class FlagPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flag: FlagIn
    reason: str | None = None


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = None


class ToggleIn(ReasonIn):
    enabled: bool


class RolloutIn(ReasonIn):
    percent: int = Field(ge=0, le=100)


class PromoteIn(ReasonIn):
    key: str
    source: str = Field(alias="from")
    target: str = Field(alias="to")


class RampIn(ReasonIn):
    steps: list[int] = Field(default=[5, 25, 50, 100], min_length=1)
    interval: str = "1h"
    service: str | None = None
    guard: str = "pause"


@router.put("/{environment}/flags/{key}", response_model=ChangeOut, responses=STALE)
def put_flag(
    environment: str,
    key: str,
    *,
    body: FlagPut,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> ChangeOut:
    change = service.change_flag(
        session,
        environment=environment,
        key=key,
        flag=body.flag.flagd(),
        action="set",
        actor=principal.actor(),
        reason=body.reason,
        now=runtime.now(),
        if_match=etags.parse_if_match(if_match),
    )
    session.commit()
    _tag_flag(response, session, change)
    return change_out(change)


@router.delete("/{environment}/flags/{key}", response_model=ChangeOut, responses=STALE)
def delete_flag(
    environment: str,
    key: str,
    *,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    reason: str | None = None,
    if_match: IfMatch = None,
) -> ChangeOut:
    change = service.change_flag(
        session,
        environment=environment,
        key=key,
        flag=None,
        action="delete",
        actor=principal.actor(),
        reason=reason,
        now=runtime.now(),
        if_match=etags.parse_if_match(if_match),
    )
    session.commit()
    return change_out(change)


@router.post("/{environment}/flags/{key}/toggle", response_model=ChangeOut, responses=STALE)
def toggle(
    environment: str,
    key: str,
    *,
    body: ToggleIn,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> ChangeOut:
    change = service.toggle(
        session,
        environment=environment,
        key=key,
        enabled=body.enabled,
        actor=principal.actor(),
        reason=body.reason,
        now=runtime.now(),
        if_match=etags.parse_if_match(if_match),
    )
    session.commit()
    _tag_flag(response, session, change)
    return change_out(change)


@router.post("/{environment}/flags/{key}/rollout", response_model=ChangeOut, responses=STALE)
def rollout(
    environment: str,
    key: str,
    *,
    body: RolloutIn,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> ChangeOut:
    change = service.set_rollout(
        session,
        environment=environment,
        key=key,
        percent=body.percent,
        actor=principal.actor(),
        reason=body.reason,
        now=runtime.now(),
        if_match=etags.parse_if_match(if_match),
    )
    session.commit()
    _tag_flag(response, session, change)
    return change_out(change)


@router.post("/promote", response_model=ChangeOut)
def promote(body: PromoteIn, principal: Writer, session: SessionDep, runtime: RuntimeDep) -> ChangeOut:
    change = service.promote(
        session,
        key=body.key,
        source=body.source,
        target=body.target,
        actor=principal.actor(),
        reason=body.reason,
        now=runtime.now(),
    )
    session.commit()
    return change_out(change)


@router.get("/changes", response_model=list[ChangeOut])
def list_changes(
    _: Reader, session: SessionDep, environment: str | None = None, status: str | None = None
) -> list[ChangeOut]:
    return [change_out(c) for c in service.list_changes(session, environment=environment, status=status)]


@router.post("/changes/{change_id}/approve", response_model=ChangeOut)
def approve(change_id: str, principal: Writer, session: SessionDep, runtime: RuntimeDep) -> ChangeOut:
    change = ramps.decide_change(session, change_id=change_id, approve=True, actor=principal.actor(), now=runtime.now())
    session.commit()
    return change_out(change)


@router.post("/changes/{change_id}/reject", response_model=ChangeOut)
def reject(change_id: str, body: ReasonIn, principal: Writer, session: SessionDep, runtime: RuntimeDep) -> ChangeOut:
    change = ramps.decide_change(
        session, change_id=change_id, approve=False, actor=principal.actor(), now=runtime.now(), reason=body.reason
    )
    session.commit()
    return change_out(change)


def ramp_out(ramp: FlagRamp) -> dict[str, Any]:
    return {
        "id": ramp.id,
        "environment": ramp.environment,
        "flag_key": ramp.flag_key,
        "steps": ramp.steps,
        "step_index": ramp.step_index,
        "percent": ramp.steps[ramp.step_index],
        "status": ramp.status,
        "service": ramp.service,
        "guard": ramp.guard,
        "note": ramp.note,
        "interval_seconds": ramp.interval_seconds,
    }


@router.post("/{environment}/flags/{key}/ramp", status_code=201, response_model=RampOut)
def start_ramp(
    environment: str, key: str, *, body: RampIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    ramp = ramps.start_ramp(
        session,
        environment=environment,
        key=key,
        steps=body.steps,
        interval=body.interval,
        service_name=body.service,
        guard=body.guard,
        actor=principal.actor(),
        reason=body.reason,
        now=runtime.now(),
    )
    session.commit()
    return ramp_out(ramp)


@router.get("/{environment}/ramps", response_model=list[RampOut])
def list_ramps(environment: str, _: Reader, session: SessionDep) -> list[dict[str, Any]]:
    return [ramp_out(r) for r in ramps.list_ramps(session, environment=environment)]


class ScheduleIn(ReasonIn):
    at: str
    action: str = Field(description="enable | disable | rollout")
    percent: int | None = Field(default=None, ge=0, le=100)


@router.post("/{environment}/flags/{key}/schedule", status_code=201, response_model=ScheduledOut)
def schedule(
    environment: str, key: str, *, body: ScheduleIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    job_id = ramps.schedule_change(
        session,
        environment=environment,
        key=key,
        at=body.at,
        action=body.action,
        percent=body.percent,
        actor=principal.actor(),
        reason=body.reason,
        now=runtime.now(),
    )
    session.commit()
    return {"job": job_id}


class CountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flag: str = Field(min_length=1, max_length=253)
    variant: str | None = Field(default=None, max_length=253)
    count: StrictInt = Field(ge=0, le=2**53)


class CountsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    counts: list[CountIn] = Field(max_length=10_000)


@router.post("/{environment}/evaluations", status_code=202, response_model=CountsStoredOut)
def report_counts(
    environment: CountReporter, body: CountsIn, session: SessionDep, runtime: RuntimeDep
) -> dict[str, int]:
    """SDKs report evaluations: [{"flag": key, "variant": v, "count": n}, ...] (an SDK key or write access)."""
    serving.get_environment(session, environment=environment)  # 404 for an environment that does not exist
    tally: Counter[tuple[str, str, str]] = Counter()
    for item in body.counts:
        tally[(environment, item.flag, item.variant or "")] += item.count
    stored = counts.record(session, tally, now=runtime.now())
    session.commit()
    return {"stored": stored}
