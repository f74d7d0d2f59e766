"""What the delivery domain adds to Mamori: its kind, routers, hooks, pages, CLI, catalog column, demo data."""

from __future__ import annotations

from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, Plugin
from mamori.delivery import api, demo, hooks, jobs, pages, slots
from mamori.delivery import models as _models  # noqa: F401 - registers the tables in the metadata
from mamori.delivery.cli import delivery_app
from mamori.delivery.kinds import KINDS
from mamori.delivery.metrics import families as metric_families
from mamori.delivery.service.cache import PolicyCache


def plugin() -> Plugin:
    return Plugin(
        name="delivery",
        kinds=list(KINDS),
        jobs=list(jobs.JOBS),
        periodic=list(jobs.PERIODIC),
        api_routers=[api.router],
        page_routers=[pages.router],
        hook_routers=[hooks.router],
        nav=[NavEntry("Delivery", "/delivery", 60)],
        slots=[CatalogSlot(key="delivery", title="Delivery", render=slots.render, order=60)],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"delivery": delivery_app},
        seed_demo=demo.seed,
        metrics=[metric_families],
        states={PolicyCache: lambda runtime: PolicyCache()},
    )
