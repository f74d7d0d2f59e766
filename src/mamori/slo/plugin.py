"""What the slo domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data, states."""

from __future__ import annotations

from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, Plugin
from mamori.slo import api, cli, demo, jobs, pages, reliability, slots
from mamori.slo import models as _models  # noqa: F401 - registers the tables in the metadata
from mamori.slo.kinds import KINDS
from mamori.slo.metrics import families as metric_families
from mamori.slo.service import Plans


def plugin() -> Plugin:
    return Plugin(
        name="slo",
        kinds=list(KINDS),
        jobs=list(jobs.JOBS),
        periodic=list(jobs.PERIODIC),
        api_routers=[api.router],
        page_routers=[pages.router],
        nav=[NavEntry("SLOs", "/slos", 20)],
        slots=[CatalogSlot(key="slo", title="SLO status", render=slots.catalog_slot, order=20)],
        notices=[slots.freeze_notices],
        reliability=[reliability.signals],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"slo": cli.slo_app, "ingest": cli.ingest},
        seed_demo=demo.seed,
        metrics=[metric_families],
        states={Plans: lambda _runtime: Plans()},
    )
