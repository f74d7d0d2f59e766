"""What the findings domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slot, demo data."""

from __future__ import annotations

from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, Plugin
from mamori.findings import (
    api,
    demo,
    hooks,
    jobs,
    models,  # noqa: F401  (the tables must be in the metadata)
    pages,
    slots,
)
from mamori.findings.cli import findings_app
from mamori.findings.kinds import KINDS
from mamori.findings.metrics import families as metric_families


def plugin() -> Plugin:
    return Plugin(
        name="findings",
        kinds=list(KINDS),
        jobs=list(jobs.JOBS),
        periodic=list(jobs.PERIODIC),
        api_routers=[api.router],
        page_routers=[pages.router],
        hook_routers=[hooks.router],
        nav=[NavEntry("Security findings", "/findings", 55)],
        slots=[CatalogSlot("security_findings", "Security findings", slots.open_findings, order=55)],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"findings": findings_app},
        seed_demo=demo.seed,
        metrics=[metric_families],
    )
