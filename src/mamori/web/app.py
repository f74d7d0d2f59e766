"""The FastAPI application factory: middleware, error mapping, health, metrics and every router."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mamori import __version__
from mamori.core import exposition, migrate
from mamori.core.errors import Forbidden, MamoriError
from mamori.core.manifest import format_loc
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.web import admin_pages, api, inbox_pages, pages
from mamori.web.deps import SessionDep, authenticate, bearer_token
from mamori.web.limits import BodyLimit
from mamori.web.metrics import Metrics, MetricsMiddleware, domain_families
from mamori.web.problem import PROBLEM_TYPE, from_error, problem_response
from mamori.web.security import SecurityHeaders
from mamori.web.templating import make_environment, render

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/hooks/", "/ofrep/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The styled error page a browser gets: what was wrong and a way back (never raw JSON)."""
    page = render(request, "error.html", {"status": status, "message": message}, status_code=status)
    for name, value in (headers or {}).items():
        page.headers[name] = value
    return page


async def _invalid_body(request: Request, exc: RequestValidationError) -> Response:
    errors = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        root = str(loc.pop(0)) if loc else "body"
        errors.append({"loc": format_loc(loc, root), "msg": err.get("msg", "invalid")})
    if _wants_html(request):  # a page's bad query value (a hand-edited link): 400 with what was wrong
        detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
        return _error_page(request, 400, f"This page cannot be shown for that request ({detail}).")
    return problem_response(
        422, "Validation failed", "the request is invalid; see errors", errors=errors, instance=request.url.path
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MamoriError)
    async def mamori_error(request: Request, exc: MamoriError) -> Response:
        if exc.status == 401 and _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if _wants_html(request):
            return render(request, "error.html", {"status": exc.status, "message": exc.detail}, status_code=exc.status)
        return from_error(exc, instance=request.url.path)

    app.add_exception_handler(RequestValidationError, _invalid_body)  # type: ignore[arg-type]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request):
            message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
            return _error_page(request, exc.status_code, message, getattr(exc, "headers", None))
        return problem_response(
            exc.status_code,
            str(exc.detail) if exc.status_code < 500 else "Error",
            str(exc.detail),
            headers=getattr(exc, "headers", None),
            instance=request.url.path,
        )

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        # The database went away, refused us, or stayed locked past its timeout: tell the client when to retry
        # instead of a 500 (nothing was stored; the request's transaction rolled back).
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        if _wants_html(request):
            message = "The database is unavailable or busy; nothing was stored. Try again in a few seconds."
            return _error_page(request, 503, message, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        return problem_response(
            503,
            "Service unavailable",
            "the database is unavailable or busy; nothing was stored, try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _wants_html(request):
            return _error_page(request, 500, "Something went wrong on our side; it has been logged.")
        return problem_response(
            500, "Internal error", "an unexpected error occurred; it has been logged", instance=request.url.path
        )


RETRY_AFTER_SECONDS = 5


def storage_probe(runtime: Runtime) -> str:
    """Whether Mamori can write where it keeps data: a small file written, synced and removed in the data
    directory (a read-only mount or a full disk fails here, before a write request does)."""
    try:
        runtime.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=runtime.settings.data_dir, prefix=".readyz-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return f"not writable: {exc.strerror or type(exc).__name__} ({runtime.settings.data_dir})"
    return "ok"


def _install_health(app: FastAPI, runtime: Runtime, metrics: Metrics) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        # liveness does no I/O: answered on the event loop, it never queues behind database work in the pool
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["health"])
    def readyz() -> Response:
        checks: dict[str, str] = {}
        try:  # readiness reports any failure rather than raising
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        else:
            checks["storage"] = storage_probe(runtime)
            try:
                missing = migrate.pending(runtime.engine)
                checks["migrations"] = "ok" if not missing else f"pending: {', '.join(sorted(missing))}"
            except Exception as exc:
                checks["migrations"] = f"unknown: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(
            body, status_code=200 if ready else 503, media_type="application/json" if ready else PROBLEM_TYPE
        )

    @app.get("/metrics", tags=["health"])
    def prometheus_metrics(request: Request, session: SessionDep) -> Response:
        """Mamori's own metrics; with a read token (`Authorization: Bearer`) also every domain's figures."""
        body = metrics.render().decode()
        if bearer_token(request) is not None:
            principal = authenticate(request, session, runtime)
            if not principal.allows("read"):
                raise Forbidden(f"{principal.name} lacks the 'read' permission")
            body += exposition.render(domain_families(runtime, session, runtime.now()))
        return Response(body, media_type=exposition.CONTENT_TYPE)


def create_app(runtime: Runtime, *, run_worker: bool = False) -> FastAPI:
    """Build the app. With `run_worker`, a job worker runs in a thread for the app's lifetime."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if run_worker:
            worker = Worker(runtime)
            thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True, name="mamori-worker")
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=10)
        for plugin in runtime.plugins:
            if plugin.on_shutdown is not None:
                try:
                    plugin.on_shutdown(runtime)
                except Exception:  # one plugin's failure must not stop the others' clean-up
                    log.exception("shutdown hook of %s failed", plugin.name)
        runtime.close_http()

    app = FastAPI(
        title="Mamori",
        version=__version__,
        lifespan=lifespan,
        description="Reliability and security platform: SLOs, incidents, flags, vulnerability watch.",
    )
    app.state.runtime = runtime
    app.state.templates = make_environment(runtime)
    metrics = Metrics(runtime)
    _install_error_handlers(app)
    _install_health(app, runtime, metrics)
    app.include_router(api.router, prefix="/api/v1")
    for plugin in runtime.plugins:
        for router in plugin.api_routers:
            app.include_router(router, prefix="/api/v1")
        for router in plugin.hook_routers:
            app.include_router(router)
        for router in plugin.page_routers:
            app.include_router(router)
    app.include_router(pages.router)
    app.include_router(admin_pages.router)
    app.include_router(inbox_pages.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    _add_plugin_middleware(app, runtime, metrics)
    return app


def _add_plugin_middleware(app: FastAPI, runtime: Runtime, metrics: Metrics) -> None:
    """Outermost, added last: a plugin's hot path answers its own requests before any other layer."""
    for plugin in runtime.plugins:
        for middleware in plugin.asgi_middleware:
            app.add_middleware(middleware, runtime=runtime, metrics=metrics)
