"""OFREP (OpenFeature Remote Evaluation Protocol 0.3): single and bulk evaluation, SSE change events.

SDK keys are per environment (`mamori admin create-token --scope flags:evaluate --environment ENV`),
sent as `Authorization: Bearer` or `X-API-Key`. Evaluation errors follow OFREP's bodies (`errorCode`,
`errorDetails`) rather than problem JSON, because that is what OFREP providers parse; 401 and 403, which
OFREP gives no body, are problem JSON like the rest of the API. `respond` is the one implementation of
both evaluation endpoints; `mamori.flags.edge` serves it in front of FastAPI.
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
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from mamori.core.errors import MamoriError, NotFound, Unauthenticated
from mamori.core.runtime import Runtime
from mamori.flags import counts, sdk_keys, serving
from mamori.flags.evaluator import Resolution
from mamori.flags.models import FlagEnvironment
from mamori.flags.sdk_keys import SdkKeyCache
from mamori.web.deps import RuntimeDep, bearer_token
from mamori.web.problem import PROBLEM_TYPE, from_error

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


def sdk_environment(request: Request, runtime: RuntimeDep) -> str:
    """The environment of the presented SDK key (a `flags:evaluate` token); for routes run off the event loop."""
    raw = presented_key(request)
    if raw is None:
        raise Unauthenticated(sdk_keys.NO_KEY)
    found = runtime.state(SdkKeyCache).answer_blocking(runtime, raw, sdk_keys.digest(raw))
    if isinstance(found, MamoriError):
        raise found
    return found


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


def rate_limited(runtime: Runtime, snapshot: serving.Snapshot, key_digest: str) -> Reply | None:
    """OFREP's 429 with Retry-After (whole seconds) when this SDK key is over its environment's limit."""
    if snapshot.rate_limit is None:
        return None
    requests, per_seconds = snapshot.rate_limit
    wait = limiter(runtime).wait_seconds(f"{snapshot.environment}:{key_digest}", requests, per_seconds)
    if wait <= 0:
        return None
    return Reply(429, b"", None, ((b"retry-after", str(max(1, math.ceil(wait))).encode()),))


async def _count(runtime: Runtime, results: list[Resolution], environment: str) -> None:
    buffer = counts.buffer_for(runtime)
    buffer.counter.add_all(environment, [(result.key, result.variant) for result in results])
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


_CHANNELS: dict[tuple[str, str], tuple[str, float]] = {}


def _channel(runtime: Runtime, environment: str) -> str:
    """channel_for, signed again at most once a minute per environment (a channel lasts a day)."""
    slot = (runtime.settings.secret_key.get_secret_value(), environment)
    cached = _CHANNELS.get(slot)
    now = time.monotonic()
    if cached is not None and now - cached[1] < 60:
        return cached[0]
    if len(_CHANNELS) > 1000:
        _CHANNELS.clear()
    channel = channel_for(runtime, environment)
    _CHANNELS[slot] = (channel, now)
    return channel


def environment_of_channel(runtime: Runtime, channel: str) -> str:
    payload, _, signature = channel.rpartition(".")
    environment, _, expires = payload.rpartition(".")
    if not environment or not hmac.compare_digest(signature.encode(), _sign(runtime, payload).encode()):
        raise Unauthenticated("invalid event-stream channel")
    if not expires.isdigit() or int(expires) < time.time():
        raise Unauthenticated("expired event-stream channel; evaluate again to get a new one")
    return environment


# --- evaluation: one implementation for the edge (mamori.flags.edge) and the FastAPI routes below ----------


@dataclass(frozen=True, slots=True)
class Reply:
    """An OFREP answer as bytes: status, body, content type (None: none) and extra headers."""

    status: int
    body: bytes
    content_type: bytes | None = b"application/json"
    headers: tuple[tuple[bytes, bytes], ...] = ()

    def response(self) -> Response:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in self.headers}
        if self.status == 304:
            return Response(status_code=304, headers=headers)
        media = self.content_type.decode() if self.content_type else None
        return Response(self.body, status_code=self.status, media_type=media, headers=headers)


def dumps(value: Any) -> bytes:
    """Compact JSON: orjson, or the standard library for what orjson refuses (integers over 64 bits)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def parse_context(raw: bytes) -> dict[str, Any] | str:
    """The request's evaluation context, or an error message (OFREP INVALID_CONTEXT)."""
    if not raw:
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses but JSON allows (integers over 64 bits) is still a context
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return "the request body is not valid JSON (or nested too deeply)"
    if not isinstance(body, dict):
        return "the request body must be an object with a 'context' object"
    context = body.get("context", {})
    if not isinstance(context, dict):
        return "'context' must be an object"
    if "targetingKey" in context and not isinstance(context["targetingKey"], str):
        return "'context.targetingKey' must be a string"
    return context


def failure(status: int, key: str | None, code: str, details: str) -> Reply:
    body: dict[str, Any] = {"errorCode": code, "errorDetails": details}
    if key is not None:
        body = {"key": key, **body}
    return Reply(status, dumps(body))


def refusal(exc: MamoriError, instance: str) -> Reply:
    """401 / 403 as the rest of the API answers them (problem JSON; OFREP gives these no body of its own)."""
    sent = from_error(exc, instance=instance)
    extra = tuple((k, v) for k, v in sent.raw_headers if k not in (b"content-type", b"content-length"))
    return Reply(sent.status_code, bytes(sent.body), PROBLEM_TYPE.encode(), extra)


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


def bulk_etag(flag_set_etag: str, context: dict[str, Any]) -> str:
    try:
        canonical = orjson.dumps(context, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        canonical = json.dumps(context, sort_keys=True, separators=(",", ":"), default=str).encode()
    return '"' + hashlib.sha256(flag_set_etag.encode() + b"|" + canonical).hexdigest()[:32] + '"'


def _single(snapshot: serving.Snapshot, key: str, context: dict[str, Any]) -> tuple[Reply, Resolution]:
    result = snapshot.evaluator.evaluate(key, serving.to_context(context))
    if result.error_code == "FLAG_NOT_FOUND":
        return failure(404, key, "FLAG_NOT_FOUND", f"flag {key!r} was not found in {snapshot.environment}"), result
    if result.error_code is not None:
        code = result.error_code if result.error_code in CLIENT_ERRORS else "GENERAL"
        return failure(400, key, code, result.error_message or code), result
    return Reply(200, dumps(success_body(result))), result


CLIENT_ERRORS = ("PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT")


def _bulk(
    runtime: Runtime, snapshot: serving.Snapshot, context: dict[str, Any], if_none_match: str
) -> tuple[Reply, list[Resolution]]:
    etag = bulk_etag(snapshot.etag, context)
    tag = ((b"etag", etag.encode()),)
    if if_none_match and etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")]:
        return Reply(304, b"", None, tag), []
    evaluator, environment = snapshot.evaluator, snapshot.environment
    ctx = serving.to_context(context)
    results = [evaluator.evaluate(key, ctx) for key in evaluator.flag_keys()]
    body = {
        "flags": [_item(r) for r in results],
        "metadata": {"environment": environment, "version": str(snapshot.version)},
        "eventStreams": [
            {"type": "sse", "endpoint": {"requestUri": f"/ofrep/v1/events?channel={_channel(runtime, environment)}"}}
        ],
    }
    return Reply(200, dumps(body), b"application/json", tag), results


async def respond(
    runtime: Runtime, *, key: str | None, presented: str | None, body: bytes, if_none_match: str, instance: str
) -> Reply:
    """The OFREP answer to one request: single (`key`) or bulk (`key` None). No database query unless a key
    or a flag set must be (re)loaded, and then off the event loop (see SdkKeyCache and ServingCache)."""
    if not presented:
        return refusal(Unauthenticated(sdk_keys.NO_KEY), instance)
    key_digest = sdk_keys.digest(presented)
    found = await runtime.state(SdkKeyCache).answer(runtime, presented, key_digest)
    if isinstance(found, MamoriError):
        return refusal(found, instance)
    environment = found
    context = parse_context(body)
    if isinstance(context, str):
        return failure(400, key, "INVALID_CONTEXT", context)
    try:
        snapshot = await runtime.state(serving.ServingCache).snapshot(environment)
    except NotFound as exc:
        return (
            failure(404, key, "FLAG_NOT_FOUND", exc.detail)
            if key is not None
            else failure(400, None, "GENERAL", exc.detail)
        )
    limited = rate_limited(runtime, snapshot, key_digest)
    if limited is not None:
        return limited
    if key is not None:
        reply, result = _single(snapshot, key, context)
        await _count(runtime, [result], environment)
        return reply
    reply, results = _bulk(runtime, snapshot, context, if_none_match)
    await _count(runtime, results, environment)
    return reply


# The routes the edge answers in front of FastAPI (`mamori.flags.edge`): they stay for the OpenAPI document
# and for an app built without the edge, and answer the same through `respond`.


@router.post("/ofrep/v1/evaluate/flags/{key}")
async def evaluate_flag(key: str, request: Request, runtime: RuntimeDep) -> Response:
    reply = await respond(
        runtime,
        key=key,
        presented=presented_key(request),
        body=await request.body(),
        if_none_match="",
        instance=request.url.path,
    )
    return reply.response()


@router.post("/ofrep/v1/evaluate/flags")
async def evaluate_flags(request: Request, runtime: RuntimeDep) -> Response:
    reply = await respond(
        runtime,
        key=None,
        presented=presented_key(request),
        body=await request.body(),
        if_none_match=request.headers.get("if-none-match", ""),
        instance=request.url.path,
    )
    return reply.response()


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
