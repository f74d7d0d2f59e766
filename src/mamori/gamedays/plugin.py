"""What the gamedays domain adds to Mamori: the GameDay kind, drill jobs, routers, pages, CLI, a catalog slot,
demo data."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import reliability
from mamori.core.runtime import CatalogSlot, NavEntry, Plugin, ReliabilitySignal
from mamori.gamedays import (
    api,
    demo,
    jobs,
    models,  # (also: the tables must be in the metadata)
    pages,
    slots,
)
from mamori.gamedays.cli import gamedays_app
from mamori.gamedays.kinds import KINDS


def _reliability(session: Session, services: list[str], now: datetime) -> dict[str, list[ReliabilitySignal]]:
    """Testing and release procedures (disaster testing): a drill on the service finished in the last 90 days."""
    latest: dict[str, datetime] = {}
    for drill in session.scalars(select(models.Drill).where(models.Drill.status == "finished")):
        for service in drill.spec.get("services", []):
            if drill.ended_at is not None and (service not in latest or drill.ended_at > latest[service]):
                latest[service] = drill.ended_at
    return reliability.recency("testing_release", "drills", latest, services, now, within=timedelta(days=90))


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
        reliability=[_reliability],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"gamedays": gamedays_app},
        seed_demo=demo.seed,
    )
