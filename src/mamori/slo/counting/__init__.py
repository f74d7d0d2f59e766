"""Request events -> per-minute good/total tallies per SLI series and slice. No I/O.

`tally` is the reference (every event judged); ingest counts a batch with `batches.count_lines`, which
groups equivalent events by a key (`keys`), counts the keys with the compiled scanner or msgspec columns
(`columns`) when it can, and judges one rebuilt event per key. `plan` builds, once per configuration, what
those tiers need; `stamps` keeps the timestamp forms seen before.
"""

from mamori.slo.counting.batches import count_events, count_lines
from mamori.slo.counting.plan import CountPlan, plan_for
from mamori.slo.counting.stamps import Stamps
from mamori.slo.counting.tally import (
    MAX_BATCH_BYTES,
    MAX_REPORTED_PROBLEMS,
    MISSING_SLICE,
    NO_SLICE,
    Key,
    Tally,
    count,
    decompress,
    event_minute,
    minute_start,
    parse_lines,
    split_lines,
)

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_REPORTED_PROBLEMS",
    "MISSING_SLICE",
    "NO_SLICE",
    "CountPlan",
    "Key",
    "Stamps",
    "Tally",
    "count",
    "count_events",
    "count_lines",
    "decompress",
    "event_minute",
    "minute_start",
    "parse_lines",
    "plan_for",
    "split_lines",
]
