"""What the gamedays domain adds to Mamori: the GameDay kind, drill jobs, routers, pages, CLI, a catalog slot,
demo data."""

from __future__ import annotations

from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, Plugin
from mamori.gamedays import (
    api,
    demo,
    jobs,
    models,  # noqa: F401  (the tables must be in the metadata)
    pages,
    slots,
)
from mamori.gamedays.cli import gamedays_app
from mamori.gamedays.kinds import KINDS


def plugin() -> Plugin:
    return Plugin(
        name="gamedays",
        kinds=list(KINDS),
        jobs=list(jobs.JOBS),
        periodic=list(jobs.PERIODIC),
        api_routers=[api.router],
        page_routers=[pages.router],
        nav=[NavEntry("Game days", "/gamedays", 70)],
        slots=[CatalogSlot("gamedays", "Last drill", slots.last_drill, order=70)],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"gamedays": gamedays_app},
        seed_demo=demo.seed,
    )
