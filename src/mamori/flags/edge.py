"""OFREP evaluation served in front of FastAPI: plain ASGI for `POST /ofrep/v1/evaluate/flags[/{key}]`.

Flag evaluation is a few microseconds; before this edge, FastAPI's route matching, its dependency solving
(with a threadpool hop for the key check) and four middleware layers cost about a hundred times that. The
edge reads the headers and the body itself and answers through `ofrep.respond` (the same function the FastAPI
routes use), so the answers are the same; every other request goes on to the app unchanged.

What the skipped layers did, the edge does too: the security headers, the body limit (OFREP_MAX_BODY_BYTES,
at most the app's own), and the request metrics under the same route labels. The access log keeps only
the OFREP evaluations that failed (4xx / 5xx): a successful evaluation is counted per flag and variant
(`counts`) and in `mamori_http_requests`, and a line per evaluation would cost more than the evaluation.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from mamori.core.runtime import Runtime
from mamori.flags import ofrep
from mamori.web.security import HEADERS as SECURITY_HEADERS

logger = logging.getLogger(__name__)
BULK = "/ofrep/v1/evaluate/flags"
SINGLE = BULK + "/"
OFREP_MAX_BODY_BYTES = 1024 * 1024
"""An evaluation context is a few hundred bytes; a body over this is refused (413) before it is parsed."""
RETRY_AFTER_SECONDS = 5


class OfrepEdge:
    """ASGI middleware (outermost): OFREP evaluation requests are answered here, all others go to `app`."""

    def __init__(self, app: ASGIApp, *, runtime: Runtime, metrics: Any = None) -> None:
        self.app, self.runtime, self.metrics = app, runtime, metrics
        self.max_bytes = min(OFREP_MAX_BODY_BYTES, runtime.settings.max_body_bytes)
        self._series: dict[tuple[str, int], tuple[Any, Any]] = {}
        quiet_access_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path == BULK:
                await self._serve(scope, receive, send, None, path)
                return
            if path.startswith(SINGLE) and (key := path[len(SINGLE) :]) and "/" not in key:
                await self._serve(scope, receive, send, key, path)
                return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, key: str | None, path: str) -> None:
        start = time.perf_counter()
        bearer = api_key = None
        if_none_match = ""
        declared = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                text = value.decode("latin-1")
                if text[:7].lower() == "bearer ":
                    bearer = text[7:].strip()
            elif name == b"x-api-key":
                api_key = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
        if declared.isdigit() and int(declared) > self.max_bytes:
            reply = self._too_large(key)
        else:
            body = await self._body(receive)
            if body is None:
                return  # the client went away
            if len(body) > self.max_bytes:
                reply = self._too_large(key)
            else:
                reply = await self._reply(key, bearer or api_key or None, body, if_none_match, path)
        await _send(send, reply)
        self._observe(key, reply.status, time.perf_counter() - start)

    async def _body(self, receive: Receive) -> bytes | None:
        message = await receive()
        if message["type"] != "http.request":
            return None
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            return body
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes or not message.get("more_body", False):
                return b"".join(chunks)

    async def _reply(
        self, key: str | None, presented: str | None, body: bytes, if_none_match: str, path: str
    ) -> ofrep.Reply:
        try:
            return await ofrep.respond(
                self.runtime, key=key, presented=presented, body=body, if_none_match=if_none_match, instance=path
            )
        except OperationalError as exc:
            logger.warning("database unavailable for an OFREP evaluation: %s", exc.orig)
            reply = ofrep.failure(503, key, "GENERAL", "the database is unavailable or busy; try again shortly")
            return ofrep.Reply(503, reply.body, headers=((b"retry-after", str(RETRY_AFTER_SECONDS).encode()),))
        except Exception:
            logger.exception("unhandled error in an OFREP evaluation")
            return ofrep.Reply(500, ofrep.dumps({"errorDetails": "an unexpected error occurred; it has been logged"}))

    def _too_large(self, key: str | None) -> ofrep.Reply:
        detail = f"the request body is over {self.max_bytes} bytes; an OFREP evaluation context must be smaller"
        return ofrep.failure(413, key, "GENERAL", detail)

    def _observe(self, key: str | None, status: int, seconds: float) -> None:
        if self.metrics is None:
            return
        series = self._series.get((BULK if key is None else SINGLE, status))
        if series is None:
            route = BULK if key is None else SINGLE + "{key}"
            series = (
                self.metrics.requests.labels("POST", route, str(status)),
                self.metrics.latency.labels("POST", route),
            )
            self._series[(BULK if key is None else SINGLE, status)] = series
        series[0].inc()
        series[1].observe(seconds)


async def _send(send: Send, reply: ofrep.Reply) -> None:
    headers = list(reply.headers)
    if reply.status != 304:
        headers.append((b"content-length", str(len(reply.body)).encode()))
        if reply.content_type is not None:
            headers.append((b"content-type", reply.content_type))
    headers.extend(SECURITY_HEADERS)
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body if reply.status != 304 else b""})


class _SuccessfulEvaluations(logging.Filter):
    """Drops uvicorn's access-log lines of OFREP evaluations answered 2xx/3xx (uvicorn's args:
    client, method, path, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, status = args[2], args[4]
            if path.startswith(BULK) and isinstance(status, int) and status < 400:
                return False
        return True


def quiet_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _SuccessfulEvaluations) for f in access.filters):
        access.addFilter(_SuccessfulEvaluations())
