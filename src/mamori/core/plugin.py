"""The kernel's own contribution: the User, Team and Service kinds and the event-delivery job."""

from __future__ import annotations

from mamori.core import catalog, reliability
from mamori.core.events import DELIVER_JOB
from mamori.core.runtime import Plugin, Runtime


def plugin(runtime: Runtime) -> Plugin:
    return Plugin(
        name="core",
        kinds=list(catalog.KINDS),
        job_handlers={DELIVER_JOB: runtime.bus.deliver},
        slots=[reliability.catalog_column(runtime)],
    )
