"""What the slo domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, PeriodicSpec, Plugin
from mamori.slo import api, cli, demo, enforcement, pages, service, views
from mamori.slo import models as _models  # noqa: F401 - registers the tables in the metadata
from mamori.slo.kinds import KINDS


def plugin() -> Plugin:
    return Plugin(
        name="slo",
        kinds=list(KINDS),
        job_handlers={service.EVALUATE_JOB: service.evaluate_job, enforcement.ACTION_JOB: enforcement.run_action},
        periodic=[PeriodicSpec(name="slo.evaluate", kind=service.EVALUATE_JOB, interval=timedelta(minutes=1))],
        api_routers=[api.router],
        page_routers=[pages.router],
        nav=[NavEntry("SLOs", "/slos", 20)],
        slots=[CatalogSlot(key="slo", title="SLO status", render=views.catalog_slot, order=20)],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"slo": cli.slo_app, "ingest": cli.ingest},
        seed_demo=demo.seed,
    )
