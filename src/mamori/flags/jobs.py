"""Job handlers of the flags domain that are not ramps: flushing evaluation counts."""

from __future__ import annotations

from typing import Any

from mamori.core.jobs import JobContext
from mamori.flags import counts

FLUSH_COUNTS_JOB = "flags.flush_counts"


def flush_counts(ctx: JobContext, _payload: dict[str, Any]) -> None:
    """Store this process's OFREP tallies (those the interval flush has not written yet); on failure they are
    put back for the next run."""
    counter = counts.buffer_for(ctx.runtime).counter
    tally = counter.drain()
    try:
        counts.record(ctx.session, tally, now=ctx.now)
    except Exception:
        for (environment, key, variant), n in tally.items():
            counter.add(environment, key, variant, n)
        raise
