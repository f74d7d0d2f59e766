"""What the sast domain adds to Mamori: its policy kind, jobs, routers, pages, CLI, catalog slot, demo data."""

from __future__ import annotations

from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, Plugin
from mamori.sast import (
    api,
    demo,
    hooks,
    jobs,
    models,  # noqa: F401  (the tables must be in the metadata)
    pages,
    slots,
)
from mamori.sast.cli import sast_app
from mamori.sast.kinds import KINDS


def plugin() -> Plugin:
    return Plugin(
        name="sast",
        kinds=list(KINDS),
        jobs=list(jobs.JOBS),
        periodic=list(jobs.PERIODIC),
        api_routers=[api.router],
        page_routers=[pages.router],
        hook_routers=[hooks.router],
        nav=[NavEntry("SAST", "/sast", 55)],
        slots=[CatalogSlot("code_findings", "Code findings", slots.open_code_findings, order=55)],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"sast": sast_app},
        seed_demo=demo.seed,
    )
