"""What the flags domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, Plugin, Runtime
from mamori.flags import api, edge, jobs, ofrep, pages, sdk_keys, serving, slots
from mamori.flags import models as _models  # noqa: F401 - registers the tables in the metadata
from mamori.flags.cli import flags_app
from mamori.flags.counts import CountBuffer, buffer_for, new_buffer
from mamori.flags.demo import seed_demo
from mamori.flags.kinds import KINDS


def plugin() -> Plugin:
    return Plugin(
        name="flags",
        kinds=list(KINDS),
        jobs=list(jobs.JOBS),
        periodic=list(jobs.PERIODIC),
        api_routers=[api.router],
        page_routers=[pages.router],
        hook_routers=[ofrep.router],
        asgi_middleware=[edge.OfrepEdge],
        nav=[NavEntry("Flags", "/flags", 40)],
        slots=[CatalogSlot(key="flags", title="Flags", render=slots.render, order=40)],
        reliability=[slots.reliability],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"flags": flags_app},
        seed_demo=seed_demo,
        on_shutdown=_flush_counts_at_shutdown,
        states={
            serving.ServingCache: lambda runtime: serving.ServingCache(runtime.sessions),
            sdk_keys.SdkKeyCache: lambda runtime: sdk_keys.SdkKeyCache(),
            ofrep.RateLimiter: lambda runtime: ofrep.RateLimiter(),
            CountBuffer: new_buffer,
        },
    )


def _flush_counts_at_shutdown(runtime: Runtime) -> None:
    buffer_for(runtime).flush()
