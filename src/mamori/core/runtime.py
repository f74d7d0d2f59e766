"""The runtime every edge and job shares: settings, storage, clock, bus, registries and per-runtime states.

Domains contribute through a `Plugin` (one per domain, in its `plugin.py`); the
one composition root, `mamori.wiring`, collects them and makes the cross-domain
subscriptions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mamori.core.clock import Clock
from mamori.core.config import Settings
from mamori.core.events import EventBus
from mamori.core.exposition import MetricFamily
from mamori.core.jobs import JobHandler, JobKind, JobRegistry
from mamori.core.manifest import KindDef, KindRegistry

T = TypeVar("T")


class States:
    """Per-runtime objects a domain keeps between requests (caches, rate limiters, buffers), looked up
    by their type, never by a string. Each domain declares its factories in `Plugin.states`; the
    composition root builds them all once, and tests pass their own instances to `build_runtime`."""

    def __init__(self) -> None:
        self._items: dict[type, object] = {}

    def put(self, item: object) -> None:
        self._items[type(item)] = item

    def get(self, kind: type[T]) -> T:
        if kind not in self._items:
            raise LookupError(f"no {kind.__name__} in this runtime: no plugin declares one in Plugin.states")
        return cast(T, self._items[kind])


@dataclass(frozen=True)
class NavEntry:
    title: str
    path: str
    order: int = 100


@dataclass(frozen=True)
class CatalogSlot:
    """A column of the service catalog that a domain fills: service name -> short text."""

    key: str
    title: str
    render: Callable[[Session, list[str], datetime], dict[str, str]]
    order: int = 100


@dataclass(frozen=True)
class ServiceNotice:
    """Something a person should see, and may act on, wherever a service is shown (its catalog page, the pages
    of its SLOs and flags): `template` is one of the domain's templates, rendered with `context`."""

    key: str
    service: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)


NoticeSource = Callable[[Session, list[str], datetime], list[ServiceNotice]]
"""A domain's notices for the given services (session, service names, now)."""


@dataclass(frozen=True)
class ReliabilitySignal:
    """Whether one service meets one rung of the Service Reliability Hierarchy by one domain's measure, and the
    evidence either way ("2 SLOs fed with data in the last hour and alerting", "no SLO"). `level` is one of
    `mamori.core.reliability.LEVELS`."""

    level: str
    name: str
    met: bool
    evidence: str


ReliabilitySource = Callable[[Session, list[str], datetime], dict[str, list[ReliabilitySignal]]]
"""A domain's reliability signals for the given services (session, service names, now): name -> signals."""


@dataclass(frozen=True)
class PeriodicSpec:
    name: str
    kind: str
    interval: timedelta
    payload: BaseModel | dict[str, Any] = field(default_factory=dict)


@dataclass
class Plugin:
    """What one domain adds to Mamori. Edge objects (routers, Typer apps) are typed Any here so
    that `core` stays free of FastAPI and Typer."""

    name: str
    kinds: list[KindDef] = field(default_factory=list)
    job_handlers: dict[str, JobHandler] = field(default_factory=dict)
    """Untyped handlers (dict payloads); a domain lists typed `JobKind`s in `jobs` instead."""
    jobs: list[JobKind[Any]] = field(default_factory=list)
    """The domain's typed job kinds (its `jobs.JOBS`)."""
    periodic: list[PeriodicSpec] = field(default_factory=list)
    api_routers: list[Any] = field(default_factory=list)
    page_routers: list[Any] = field(default_factory=list)
    hook_routers: list[Any] = field(default_factory=list)
    asgi_middleware: list[Any] = field(default_factory=list)
    """ASGI middleware put in front of the whole app, built as `cls(app, runtime=..., metrics=...)`: a hot
    path that answers its own requests without routing or dependencies (flags' OFREP edge)."""
    nav: list[NavEntry] = field(default_factory=list)
    slots: list[CatalogSlot] = field(default_factory=list)
    notices: list[NoticeSource] = field(default_factory=list)
    """What the domain asks people to see where a service is shown (see `ServiceNotice`)."""
    reliability: list[ReliabilitySource] = field(default_factory=list)
    """The domain's signals for each service's level in the Service Reliability Hierarchy."""
    templates_dir: Path | None = None
    commands: dict[str, Any] = field(default_factory=dict)
    """CLI additions by name: a Typer app becomes a command group, a function a single command."""
    on_startup: Callable[[Runtime], None] | None = None
    on_shutdown: Callable[[Runtime], None] | None = None
    """Called when the server stops, before its connections close (flush buffers here)."""
    seed_demo: Callable[[Runtime], None] | None = None
    states: dict[type, Callable[[Runtime], object]] = field(default_factory=dict)
    """The per-runtime objects the domain keeps (see `States`): type -> factory, built once per runtime."""
    metrics: list[Callable[[Session, datetime], Iterable[MetricFamily]]] = field(default_factory=list)
    """The figures the domain computes, as Prometheus families for the authenticated `/metrics` scrape."""


class PooledClient(httpx.Client):
    """An httpx client shared by every sender of a runtime: leaving a `with` block or calling `close()` keeps
    its connections for the next send; only `shut()` (from `Runtime.close_http`) closes it."""

    def __enter__(self) -> PooledClient:
        return self  # httpx opens a client once; a pooled one is entered by every send

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def shut(self) -> None:
        super().close()


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    bus: EventBus = field(default_factory=EventBus)
    jobs: JobRegistry = field(default_factory=JobRegistry)
    kinds: KindRegistry = field(default_factory=KindRegistry)
    plugins: list[Plugin] = field(default_factory=list)
    http_transport: httpx.BaseTransport | None = None
    states: States = field(default_factory=States)
    _http_pool: dict[str, PooledClient] = field(default_factory=dict, repr=False)
    _http_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def http_client(self, *, timeout: float = 10.0, **kwargs: Any) -> httpx.Client:
        """The runtime's outbound HTTP client for these options: one pooled client (connections and TLS
        context) per set of options, reused across sends; `with` and `close()` leave it open for the next
        caller (`close_http` closes them all). Tests give the runtime an `httpx.MockTransport`."""
        key = repr((timeout, sorted(kwargs.items())))
        with self._http_lock:
            client = self._http_pool.get(key)
            if client is None or client.is_closed:
                client = self._http_pool[key] = PooledClient(transport=self.http_transport, timeout=timeout, **kwargs)
        return client

    def close_http(self) -> None:
        """Close the pooled outbound clients (when the server or a command stops)."""
        with self._http_lock:
            for client in self._http_pool.values():
                client.shut()
            self._http_pool.clear()

    def install(self, plugin: Plugin) -> None:
        for kind_def in plugin.kinds:
            self.kinds.register(kind_def)
        for kind, handler in plugin.job_handlers.items():
            self.jobs.register(kind, handler)
        for job in plugin.jobs:
            self.jobs.add(job)
        self.plugins.append(plugin)

    def state(self, kind: type[T]) -> T:
        """The runtime's one object of `kind` (a cache, a rate limiter), as its plugin declared it."""
        return self.states.get(kind)

    def now(self) -> datetime:
        return self.clock.now()
