"""What the incidents domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, Plugin
from mamori.incidents import demo, jobs, kinds, models, reliability, slots  # noqa: F401  (models: tables)
from mamori.incidents.metrics import families as metric_families


def plugin() -> Plugin:
    # The edges import mamori.cli_support / mamori.web, which import mamori.wiring, which imports
    # this module: so they are imported when the plugin is built, after wiring has loaded.
    from mamori.incidents.alerts.hooks import router as hooks_router
    from mamori.incidents.alerts.log import IntakeLog
    from mamori.incidents.api import router as api_router
    from mamori.incidents.cli import alerts_app, incidents_app, oncall_app
    from mamori.incidents.pages import router as pages_router

    return Plugin(
        name="incidents",
        kinds=list(kinds.KINDS),
        jobs=list(jobs.JOBS),
        periodic=list(jobs.PERIODIC),
        api_routers=[api_router],
        hook_routers=[hooks_router],
        page_routers=[pages_router],
        nav=[
            NavEntry("Alerts", "/alerts", 20),
            NavEntry("Incidents", "/incidents", 21),
            NavEntry("On call", "/oncall", 22),
            NavEntry("On-call health", "/oncall/health", 23),
            NavEntry("Escalation", "/escalation-policies", 24),
        ],
        slots=[
            CatalogSlot("oncall_now", "On call now", slots.on_call_by_service),
            CatalogSlot("open_incidents", "Open incidents", slots.open_incidents_by_service),
            CatalogSlot("burn_reach", "SLO burns page", slots.burn_reach_by_service),
        ],
        reliability=[reliability.signals],
        templates_dir=Path(__file__).resolve().parent / "templates",
        seed_demo=demo.seed,
        metrics=[metric_families],
        states={IntakeLog: IntakeLog},
        on_shutdown=lambda runtime: runtime.state(IntakeLog).close(),
        commands={"alerts": alerts_app, "oncall": oncall_app, "incidents": incidents_app},
    )
