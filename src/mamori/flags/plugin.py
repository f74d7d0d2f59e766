"""What the flags domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, PeriodicSpec, Plugin
from mamori.flags import api, ofrep, pages, ramps, slot
from mamori.flags import models as _models  # noqa: F401 - registers the tables in the metadata
from mamori.flags.cli import flags_app
from mamori.flags.demo import seed_demo
from mamori.flags.flagset import FLAG_SET_KIND
from mamori.flags.jobs import FLUSH_COUNTS_JOB, flush_counts


def plugin() -> Plugin:
    return Plugin(
        name="flags",
        kinds=[FLAG_SET_KIND],
        job_handlers={
            ramps.RAMP_STEP_JOB: ramps.advance_ramp,
            ramps.SCHEDULED_CHANGE_JOB: ramps.run_scheduled_change,
            FLUSH_COUNTS_JOB: flush_counts,
        },
        periodic=[PeriodicSpec(name="flags-flush-counts", kind=FLUSH_COUNTS_JOB, interval=timedelta(minutes=1))],
        api_routers=[api.router],
        page_routers=[pages.router],
        hook_routers=[ofrep.router],
        nav=[NavEntry("Flags", "/flags", 40)],
        slots=[CatalogSlot(key="flags", title="Flags", render=slot.render, order=40)],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"flags": flags_app},
        seed_demo=seed_demo,
    )
