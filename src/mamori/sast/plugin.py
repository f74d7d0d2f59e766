"""What the sast domain adds to Mamori: its policy kind, jobs, routers, pages, CLI, catalog slot, demo data."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core import reliability
from mamori.core.runtime import CatalogSlot, NavEntry, Plugin, ReliabilitySignal
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
from mamori.sast.models import SastScan
from mamori.sast.service import scans


def _reliability(session: Session, services: list[str], now: datetime) -> dict[str, list[ReliabilitySignal]]:
    """Testing and release procedures: the service's repository had a SAST scan in the last 30 days."""
    latest: dict[str, datetime] = {}
    for repo, at in session.execute(select(SastScan.repo, func.max(SastScan.uploaded_at)).group_by(SastScan.repo)):
        service = scans.service_for(session, repo)
        if service is not None and (service not in latest or at > latest[service]):
            latest[service] = at
    return reliability.recency("testing_release", "SAST scans", latest, services, now, within=timedelta(days=30))


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
        reliability=[_reliability],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"sast": sast_app},
        seed_demo=demo.seed,
    )
