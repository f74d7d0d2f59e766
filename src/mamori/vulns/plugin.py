"""What the vulns domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, Plugin
from mamori.vulns import (
    api,
    demo,
    jobs,
    models,  # noqa: F401  (the tables must be in the metadata)
    pages,
    slots,
)
from mamori.vulns.cli import vulns_app
from mamori.vulns.kinds import KINDS
from mamori.vulns.metrics import families as metric_families


def plugin() -> Plugin:
    return Plugin(
        name="vulns",
        kinds=list(KINDS),
        jobs=list(jobs.JOBS),
        periodic=list(jobs.PERIODIC),
        api_routers=[api.router],
        page_routers=[pages.router],
        nav=[NavEntry("Vulnerabilities", "/vulns", 50)],
        slots=[CatalogSlot("findings", "Open findings", slots.open_findings, order=50)],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"vulns": vulns_app},
        seed_demo=demo.seed,
        metrics=[metric_families],
    )
