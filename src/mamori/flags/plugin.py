"""What the flags domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mamori.core.runtime import CatalogSlot, NavEntry, PeriodicSpec, Plugin, Runtime
from mamori.flags import api, notify, ofrep, pages, ramps, slot, stale
from mamori.flags import models as _models  # noqa: F401 - registers the tables in the metadata
from mamori.flags.cli import flags_app
from mamori.flags.counts import buffer_for
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
            stale.MARK_STALE_JOB: stale.mark_stale_job,
            notify.NOTIFY_RAMP_HALTED_JOB: notify.notify_ramp_halted,
        },
        periodic=[
            PeriodicSpec(name="flags-flush-counts", kind=FLUSH_COUNTS_JOB, interval=timedelta(minutes=1)),
            PeriodicSpec(name="flags-mark-stale", kind=stale.MARK_STALE_JOB, interval=timedelta(days=1)),
        ],
        api_routers=[api.router],
        page_routers=[pages.router],
        hook_routers=[ofrep.router],
        nav=[NavEntry("Flags", "/flags", 40)],
        slots=[CatalogSlot(key="flags", title="Flags", render=slot.render, order=40)],
        templates_dir=Path(__file__).resolve().parent / "templates",
        commands={"flags": flags_app},
        seed_demo=seed_demo,
        on_shutdown=_flush_counts_at_shutdown,
    )


def _flush_counts_at_shutdown(runtime: Runtime) -> None:
    buffer_for(runtime).flush()
