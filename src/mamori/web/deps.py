"""FastAPI dependencies shared by every router: the runtime, a database session, and who is calling.

Routers in domain packages (`<domain>/api.py`, `<domain>/pages.py`) import this module;
they are edges, like `mamori.web` itself.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from mamori.core import auth
from mamori.core.audit import Actor
from mamori.core.errors import Forbidden, Unauthenticated
from mamori.core.models import ApiToken, User
from mamori.core.runtime import Runtime

SESSION_COOKIE = "mamori_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ROLE_FOR_SCOPE = {"read": "viewer", "respond": "responder", "write": "editor", "admin": "admin", "ingest": "admin"}


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(request: Request) -> Iterator[Session]:
    """A session per request. Routes that change state call `session.commit()` themselves before
    returning, so that a failed commit becomes an error response rather than a lost write."""
    session = get_runtime(request).sessions()
    try:
        yield session
    finally:
        # close() rolls back what was not committed without expiring what was loaded: an error page rendered
        # after the route raised still reads the signed-in user (rollback() expired it: DetachedInstanceError).
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass
class Principal:
    """The caller: a user through a browser session, or an API token (with or without a user)."""

    user: User | None
    token: ApiToken | None
    csrf_token: str | None = None

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.email
        return f"token:{self.token.name}" if self.token else "anonymous"

    def actor(self, source: str | None = None) -> Actor:
        edge = source or ("api" if self.token is not None else "ui")
        return Actor(name=self.name, source=edge)  # type: ignore[arg-type]

    def allows(self, scope: str) -> bool:
        if self.token is not None:
            try:
                auth.require_scope(self.token, "write" if scope == "respond" else scope)
            except Forbidden:
                return False
            return True
        return self.user is not None and auth.has_role(self.user, ROLE_FOR_SCOPE.get(scope, "admin"))


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def authenticate(request: Request, session: Session, runtime: Runtime) -> Principal:
    now = runtime.clock.now()
    raw = bearer_token(request)
    if raw:
        token = auth.authenticate_token(session, raw, now=now)
        session.commit()
        return Principal(user=token.user, token=token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user, row = auth.session_user(session, cookie, now=now)
        return Principal(user=user, token=None, csrf_token=row.csrf_token)
    raise Unauthenticated("missing credentials: send 'Authorization: Bearer <token>' or log in")


async def _check_csrf(request: Request, principal: Principal) -> None:
    if principal.token is not None or request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not principal.csrf_token or not hmac.compare_digest(sent, principal.csrf_token):
        raise Forbidden("missing or wrong CSRF token")


def require(scope: str) -> Callable[..., object]:
    """A dependency that authenticates the caller and checks `scope` (and CSRF for browser writes)."""

    async def dependency(request: Request, session: SessionDep, runtime: RuntimeDep) -> Principal:
        # The token or session check reads (and stamps) the database: off the event loop, in the threadpool,
        # so one slow query or a held SQLite write lock never stalls every other request.
        principal = await run_in_threadpool(authenticate, request, session, runtime)
        if principal.token is not None and principal.token.scopes == ["flags:evaluate"] and scope != "flags:evaluate":
            raise Forbidden("this SDK key can only evaluate flags")
        if not principal.allows(scope):
            raise Forbidden(f"{principal.name} lacks the {scope!r} permission")
        await _check_csrf(request, principal)
        request.state.principal = principal
        return principal

    return dependency


INGEST_TOKEN_TTL_SECONDS = 10.0
"""How long a server process trusts a checked ingest token without reading it again: a revoked or expired
token, or one whose user was deactivated, is refused at most this long after the change."""


class TokenCache:
    """Checked bearer tokens of one app, by the SHA-256 of the secret (the secret itself is not kept), for
    `ttl` seconds; a miss (or an expired entry) goes to the database as `authenticate` does."""

    def __init__(self, ttl: float = INGEST_TOKEN_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, Principal]] = {}

    def get(self, raw: str, now: datetime) -> Principal | None:
        hit = self._items.get(_digest(raw))
        if hit is None or time.monotonic() - hit[0] >= self.ttl:
            return None
        token = hit[1].token
        if token is not None and token.expires_at is not None and token.expires_at <= now:
            return None
        return hit[1]

    def put(self, raw: str, principal: Principal) -> None:
        if len(self._items) > 10_000:  # many distinct tokens: start again rather than grow without bound
            self._items.clear()
        self._items[_digest(raw)] = (time.monotonic(), principal)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.strip().encode()).hexdigest()


def token_cache(request: Request) -> TokenCache:
    cache = getattr(request.app.state, "token_cache", None)
    if cache is None:
        cache = request.app.state.token_cache = TokenCache()
    return cache


def _authenticate_token_only(request: Request, runtime: Runtime) -> Principal:
    with runtime.sessions() as session:
        principal = authenticate(request, session, runtime)
        if principal.token is not None and principal.token.user is not None:
            _ = principal.token.user.active  # loaded now: the principal outlives its session
        return principal


def require_token_cached(scope: str) -> Callable[..., object]:
    """Like `require(scope)` for API tokens only (webhooks), checked against `TokenCache` first: no database
    work and no threadpool hop on a hit. Browser sessions are refused (they need CSRF checks)."""

    async def dependency(request: Request) -> Principal:
        raw = bearer_token(request)
        if not raw:
            raise Unauthenticated("missing credentials: send 'Authorization: Bearer <token>'")
        runtime = get_runtime(request)
        cache = token_cache(request)
        principal = cache.get(raw, runtime.clock.now())
        if principal is None:
            principal = await run_in_threadpool(_authenticate_token_only, request, runtime)
            if principal.token is not None and principal.allows(scope):
                cache.put(raw, principal)
        if principal.token is not None and principal.token.scopes == ["flags:evaluate"] and scope != "flags:evaluate":
            raise Forbidden("this SDK key can only evaluate flags")
        if not principal.allows(scope):
            raise Forbidden(f"{principal.name} lacks the {scope!r} permission")
        request.state.principal = principal
        return principal

    return dependency


def authorize_for_team(principal: Principal, team: str | None, scope: str) -> None:
    """Allow `scope` through the caller's organisation role, or its role in `team` (the object's owner):
    a responder of the backend team may acknowledge backend's alerts without being a responder everywhere."""
    if principal.allows(scope):
        return
    user = principal.user
    if principal.token is None and user is not None and auth.has_role_for_team(user, team, ROLE_FOR_SCOPE[scope]):
        return
    where = f" for team {team!r}" if team else ""
    raise Forbidden(f"{principal.name} lacks the {scope!r} permission{where}")


Reader = Annotated[Principal, Depends(require("read"))]
Responder = Annotated[Principal, Depends(require("respond"))]
Writer = Annotated[Principal, Depends(require("write"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Ingester = Annotated[Principal, Depends(require("ingest"))]
