"""OFREP edge (OpenFeature Remote Evaluation Protocol 0.3): single and bulk evaluation, SSE change events.

SDK keys are per environment (`mamori admin create-token --scope flags:evaluate --environment ENV`),
sent as `Authorization: Bearer` or `X-API-Key`. Errors follow OFREP's bodies (`errorCode`,
`errorDetails`) rather than problem JSON, because that is what OFREP providers parse.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from mamori.core import auth
from mamori.core.errors import Forbidden, NotFound, Unauthenticated
from mamori.core.runtime import Runtime
from mamori.flags import counts, serving
from mamori.flags.evaluator import Resolution
from mamori.flags.models import FlagEnvironment
from mamori.web.deps import RuntimeDep, bearer_token

logger = logging.getLogger(__name__)
router = APIRouter(tags=["flags: OFREP"])
SSE_POLL_SECONDS = 1.0
SSE_HEARTBEAT_SECONDS = 15.0
CHANNEL_TTL_SECONDS = 24 * 3600


def presented_key(request: Request) -> str | None:
    """The SDK key, sent as a Bearer token or in X-API-Key (OFREP allows both)."""
    return bearer_token(request) or request.headers.get("x-api-key") or None


def serving_cache(runtime: Runtime) -> serving.ServingCache:
    """The runtime's OFREP serving cache (one per runtime, so tests on separate databases never share it)."""
    return runtime.state(serving.ServingCache)


KEY_TTL_SECONDS = 30.0


class SdkKeyCache:
    """sha256(key) -> (environment, when checked), per runtime: a revoked or expired key stops working
    within KEY_TTL_SECONDS, and no token check hits the database more often than that per key."""

    MAX_KEYS = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[str, float]] = {}

    def get(self, digest: str) -> str | None:
        found = self._keys.get(digest)
        if found is not None and self.clock() - found[1] < KEY_TTL_SECONDS:
            return found[0]
        return None

    def put(self, digest: str, environment: str) -> None:
        with self._lock:
            if len(self._keys) >= self.MAX_KEYS:
                self._keys.clear()
            self._keys[digest] = (environment, self.clock())


def sdk_environment(request: Request, runtime: RuntimeDep) -> str:
    """The environment of the presented SDK key (a `flags:evaluate` token)."""
    raw = presented_key(request)
    if raw is None:
        raise Unauthenticated("send an SDK key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    digest = hashlib.sha256(raw.encode()).hexdigest()
    request.state.sdk_key_digest = digest
    keys = runtime.state(SdkKeyCache)
    cached = keys.get(digest)
    if cached is not None:
        return cached
    with runtime.sessions() as session:
        token = auth.authenticate_token(session, raw, now=runtime.now())
        session.commit()
        environment = token.environment
        if "flags:evaluate" not in token.scopes or not environment:
            raise Forbidden("this token is not an SDK key; create one with --scope flags:evaluate --environment ENV")
    keys.put(digest, environment)
    return environment


SdkEnvironment = Annotated[str, Depends(sdk_environment)]


# --- per-key rate limit (a FlagSet's `ofrepRateLimit`; off by default) ------------------------------------


class RateLimiter:
    """Token buckets per SDK key: `requests` per `per_seconds`, refilled continuously, bursts up to `requests`."""

    MAX_KEYS = 100_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait_seconds(self, key: str, requests: int, per_seconds: float) -> float:
        """0 when the request may go ahead (and is counted), else how long until it may."""
        now = self.clock()
        rate = requests / per_seconds
        with self._lock:
            tokens, last = self._buckets.get(key, (float(requests), now))
            tokens = min(float(requests), tokens + (now - last) * rate)
            if tokens >= 1.0:
                if len(self._buckets) >= self.MAX_KEYS and key not in self._buckets:
                    self._buckets.clear()
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate


def limiter(runtime: Runtime) -> RateLimiter:
    """The runtime's rate limiter (a test passes its own, on a fake clock, through `build_runtime`)."""
    return runtime.state(RateLimiter)


def _rate_limited(request: Request, runtime: Runtime, snapshot: serving.Snapshot) -> Response | None:
    """OFREP's 429 with Retry-After (whole seconds) when this SDK key is over its environment's limit."""
    if snapshot.rate_limit is None:
        return None
    requests, per_seconds = snapshot.rate_limit
    digest = getattr(request.state, "sdk_key_digest", "")
    wait = limiter(runtime).wait_seconds(f"{snapshot.environment}:{digest}", requests, per_seconds)
    if wait <= 0:
        return None
    return Response(status_code=429, headers={"Retry-After": str(max(1, math.ceil(wait)))})


async def _count(runtime: Runtime, results: list[Resolution], environment: str) -> None:
    buffer = counts.buffer_for(runtime)
    for result in results:
        buffer.add(environment, result.key, result.variant)
    if buffer.due():
        try:
            await asyncio.to_thread(buffer.flush_if_due)
        except Exception:
            logger.warning("could not store evaluation counts; will retry", exc_info=True)


# --- change-event channels: signed, so that an SSE URL carries no SDK key ---------------------------------


def _sign(runtime: Runtime, payload: str) -> str:
    key = runtime.settings.secret_key.get_secret_value().encode()
    return base64.urlsafe_b64encode(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:18]).decode()


def channel_for(runtime: Runtime, environment: str) -> str:
    payload = f"{environment}.{int(time.time()) + CHANNEL_TTL_SECONDS}"
    return f"{payload}.{_sign(runtime, payload)}"


def environment_of_channel(runtime: Runtime, channel: str) -> str:
    payload, _, signature = channel.rpartition(".")
    environment, _, expires = payload.rpartition(".")
    if not environment or not hmac.compare_digest(signature.encode(), _sign(runtime, payload).encode()):
        raise Unauthenticated("invalid event-stream channel")
    if not expires.isdigit() or int(expires) < time.time():
        raise Unauthenticated("expired event-stream channel; evaluate again to get a new one")
    return environment


# --- evaluation ----------------------------------------------------------------------------------------


def _failure(status: int, key: str | None, code: str, details: str) -> JSONResponse:
    body: dict[str, Any] = {"errorCode": code, "errorDetails": details}
    if key is not None:
        body = {"key": key, **body}
    return JSONResponse(body, status_code=status)


async def _context(request: Request) -> dict[str, Any] | str:
    """The request's evaluation context, or an error message (OFREP INVALID_CONTEXT)."""
    try:
        body = await request.json() if await request.body() else {}
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return "the request body is not valid JSON (or nested too deeply)"
    if not isinstance(body, dict):
        return "the request body must be an object with a 'context' object"
    context = body.get("context", {})
    if not isinstance(context, dict):
        return "'context' must be an object"
    if "targetingKey" in context and not isinstance(context["targetingKey"], str):
        return "'context.targetingKey' must be a string"
    return context


def success_body(result: Resolution) -> dict[str, Any]:
    body: dict[str, Any] = {"key": result.key, "reason": result.reason, "variant": result.variant}
    if result.variant is not None:
        body["value"] = result.value
    if result.metadata:
        body["metadata"] = dict(result.metadata)
    return body


def _item(result: Resolution) -> dict[str, Any]:
    if result.error_code is not None:
        return {"key": result.key, "errorCode": result.error_code, "errorDetails": result.error_message or ""}
    return success_body(result)


@router.post("/ofrep/v1/evaluate/flags/{key}")
async def evaluate_flag(key: str, request: Request, environment: SdkEnvironment, runtime: RuntimeDep) -> Response:
    context = await _context(request)
    if isinstance(context, str):
        return _failure(400, key, "INVALID_CONTEXT", context)
    try:
        snapshot = serving_cache(runtime).get(environment)
    except NotFound as exc:
        return _failure(404, key, "FLAG_NOT_FOUND", exc.detail)
    limited = _rate_limited(request, runtime, snapshot)
    if limited is not None:
        return limited
    result = snapshot.evaluator.evaluate(key, serving.to_context(context))
    await _count(runtime, [result], environment)
    if result.error_code == "FLAG_NOT_FOUND":
        return _failure(404, key, "FLAG_NOT_FOUND", f"flag {key!r} was not found in {environment}")
    if result.error_code is not None:
        code = (
            result.error_code
            if result.error_code in ("PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT")
            else "GENERAL"
        )
        return _failure(400, key, code, result.error_message or code)
    return JSONResponse(success_body(result))


def bulk_etag(flag_set_etag: str, context: dict[str, Any]) -> str:
    canonical = json.dumps(context, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(f"{flag_set_etag}|{canonical}".encode()).hexdigest()[:32] + '"'


@router.post("/ofrep/v1/evaluate/flags")
async def evaluate_flags(request: Request, environment: SdkEnvironment, runtime: RuntimeDep) -> Response:
    context = await _context(request)
    if isinstance(context, str):
        return _failure(400, None, "INVALID_CONTEXT", context)
    try:
        row = serving_cache(runtime).get(environment)
    except NotFound as exc:
        return _failure(400, None, "GENERAL", exc.detail)
    limited = _rate_limited(request, runtime, row)
    if limited is not None:
        return limited
    etag = bulk_etag(row.etag, context)
    sent = request.headers.get("if-none-match", "")
    if etag in [t.strip().removeprefix("W/") for t in sent.split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    evaluator = row.evaluator
    ctx = serving.to_context(context)
    results = [evaluator.evaluate(key, ctx) for key in evaluator.flag_keys()]
    await _count(runtime, results, environment)
    body = {
        "flags": [_item(r) for r in results],
        "metadata": {"environment": environment, "version": str(row.version)},
        "eventStreams": [
            {"type": "sse", "endpoint": {"requestUri": f"/ofrep/v1/events?channel={channel_for(runtime, environment)}"}}
        ],
    }
    return JSONResponse(body, headers={"ETag": etag})


def _current_etag(runtime: Runtime, environment: str) -> tuple[str | None, int]:
    with runtime.sessions() as session:
        row = session.get(FlagEnvironment, environment)
        return (row.etag, int(row.updated_at.timestamp())) if row is not None else (None, 0)


def sse_event(etag: str | None, last_modified: int) -> str:
    data = {"type": "refetchEvaluation", "etag": etag, "lastModified": last_modified}
    return f"event: message\nid: {etag or 'none'}\ndata: {json.dumps(data)}\n\n"


async def change_events(request: Request, runtime: Runtime, environment: str) -> AsyncIterator[str]:
    """A `refetchEvaluation` event whenever the environment's flag set changes; comments as heartbeats."""
    last, _ = await asyncio.to_thread(_current_etag, runtime, environment)
    yield "retry: 3000\n: connected\n\n"
    quiet = 0.0
    while not await request.is_disconnected():
        await asyncio.sleep(SSE_POLL_SECONDS)
        etag, modified = await asyncio.to_thread(_current_etag, runtime, environment)
        if etag != last:
            last, quiet = etag, 0.0
            yield sse_event(etag, modified)
        else:
            quiet += SSE_POLL_SECONDS
            if quiet >= SSE_HEARTBEAT_SECONDS:
                quiet = 0.0
                yield ": heartbeat\n\n"


@router.get("/ofrep/v1/events")
def events(request: Request, runtime: RuntimeDep, channel: str | None = None) -> Response:
    """SSE stream of change events: by signed channel (from the bulk response) or by SDK key."""
    environment = environment_of_channel(runtime, channel) if channel else sdk_environment(request, runtime)
    return StreamingResponse(
        change_events(request, runtime, environment),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
