"""Mamori's own Prometheus metrics: HTTP requests, and the job queue's depth and lag read on scrape."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mamori.core import jobs
from mamori.core.runtime import Runtime


class _QueueCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.runtime.sessions() as session:
            stats = jobs.stats(session, now=self.runtime.clock.now())
        depth = GaugeMetricFamily("mamori_jobs", "Jobs by status", labels=["status"])
        for status, value in (
            ("queued", stats.queued),
            ("due", stats.due),
            ("running", stats.running),
            ("failed", stats.failed),
        ):
            depth.add_metric([status], value)
        yield depth
        yield GaugeMetricFamily("mamori_job_queue_lag_seconds", "Age of the oldest due job", value=stats.lag_seconds)


class Metrics:
    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mamori_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "mamori_http_request_duration_seconds", "HTTP request duration", ["method", "route"], registry=self.registry
        )
        self.registry.register(_QueueCollector(runtime))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _route_template(scope: Scope) -> str:
    """The matched route's path template with its router prefix (`/api/v1/services/{name}`).

    FastAPI puts the route as declared in its router into `scope["route"]` and the prefixed
    path into its effective route context; without the prefix `/services` (a page) and
    `/api/v1/services` would share one series.
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(context, "path", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            path = _route_template(scope)
            self.metrics.requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.latency.labels(scope["method"], path).observe(time.perf_counter() - start)
