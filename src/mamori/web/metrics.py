"""Mamori's own Prometheus metrics (HTTP requests, the job queue's depth and lag read on scrape) and, for a
scrape with a read token, every figure the domains compute (their `Plugin.metrics` families)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mamori.core import exposition, jobs
from mamori.core.runtime import Runtime

log = logging.getLogger(__name__)


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


def domain_families(runtime: Runtime, session: Session, now: datetime) -> list[exposition.MetricFamily]:
    """Every domain's families, merged by name. A domain whose figures fail (a query error, a family that
    clashes with another's) is left out of this scrape and counted in `mamori_metrics_domain_errors`, so one
    domain's fault never empties the whole scrape."""
    errors = exposition.MetricFamily("mamori_metrics_domain_errors", "Domains whose figures failed on this scrape")
    out: list[exposition.MetricFamily] = []
    for plugin in runtime.plugins:
        if not plugin.metrics:
            continue
        try:
            with session.begin_nested():
                mine = exposition.merge(fam for collect in plugin.metrics for fam in collect(session, now))
            out = exposition.merge([*out, *mine])
        except Exception:
            log.exception("the metrics of %s failed", plugin.name)
            errors.add(1, {"domain": plugin.name})
    return [*out, errors]


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
