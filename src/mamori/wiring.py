"""The one composition root: which plugins make up Mamori, per-runtime states built from settings, and every
cross-domain event subscription (so that each coupling between domains is visible here)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import MetaData

from mamori.core import catalog, jobs
from mamori.core import plugin as core_plugin
from mamori.core.clock import Clock, SystemClock
from mamori.core.config import Settings
from mamori.core.db import Base, make_engine, make_sessionmaker
from mamori.core.manifest import KindRegistry
from mamori.core.runtime import Plugin, Runtime
from mamori.flags import plugin as flags_plugin
from mamori.flags import ramps as flag_ramps
from mamori.incidents import plugin as incidents_plugin
from mamori.incidents.alerts import burns as incident_burns
from mamori.sast import plugin as sast_plugin
from mamori.slo import events as slo_events
from mamori.slo import plugin as slo_plugin
from mamori.vulns import plugin as vulns_plugin

DOMAIN_PLUGINS: list[Callable[[], Plugin]] = [
    slo_plugin.plugin,
    incidents_plugin.plugin,
    flags_plugin.plugin,
    vulns_plugin.plugin,
    sast_plugin.plugin,
]


def metadata() -> MetaData:
    """Every table of every domain (importing the plugins imports their models)."""
    return Base.metadata


def subscribe(runtime: Runtime) -> None:
    """Cross-domain reactions. Each line: publisher's event -> subscriber's service function."""
    bus = runtime.bus
    # An SLO burning its budget becomes an alert, routed and paged like any other.
    bus.subscribe(slo_events.BurnAlertFired, "incidents.ingest_slo_burn", incident_burns.ingest_slo_burn)
    bus.subscribe(slo_events.BurnAlertResolved, "incidents.resolve_slo_burn", incident_burns.resolve_slo_burn)
    # Guarded rollouts: a burn or a release freeze on a service halts its flag ramps.
    bus.subscribe(slo_events.BurnAlertFired, "flags.halt_ramps_on_burn", flag_ramps.on_burn_alert)
    bus.subscribe(slo_events.ReleaseFreezeStarted, "flags.halt_ramps_on_freeze", flag_ramps.on_release_freeze)


def kind_registry() -> KindRegistry:
    """Every configuration kind of the kernel and the domains, without a database (offline commands)."""
    registry = KindRegistry()
    for kind_def in catalog.KINDS:
        registry.register(kind_def)
    for make in DOMAIN_PLUGINS:
        for kind_def in make().kinds:
            registry.register(kind_def)
    return registry


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    http_transport: httpx.BaseTransport | None = None,
    states: list[object] | None = None,
) -> Runtime:
    """The runtime for these settings. `states` replaces the per-runtime objects of the same type that the
    plugins would build (a test passes a rate limiter on a fixed clock)."""
    engine = make_engine(settings.resolved_database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
        http_transport=http_transport,
    )
    runtime.install(core_plugin.plugin(runtime))
    for make in DOMAIN_PLUGINS:
        runtime.install(make())
    for item in states or ():
        runtime.states.put(item)
    given = {type(item) for item in states or ()}
    for plugin in runtime.plugins:
        for kind, factory in plugin.states.items():
            if kind not in given:
                runtime.states.put(factory(runtime))
    subscribe(runtime)
    return runtime


def start(runtime: Runtime) -> None:
    """Start-up work that needs the database: defaults, periodic schedules."""
    with runtime.sessions.begin() as session:
        for plugin in runtime.plugins:
            for spec in plugin.periodic:
                jobs.schedule_periodic(
                    session,
                    name=spec.name,
                    kind=spec.kind,
                    interval=spec.interval,
                    payload=spec.payload,
                    now=runtime.now(),
                )
    for plugin in runtime.plugins:
        if plugin.on_startup is not None:
            plugin.on_startup(runtime)
