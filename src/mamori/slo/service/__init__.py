"""SLO use cases, the only code of the domain with a session.

`ingest` counts events into buckets, `evaluation` evaluates objectives and keeps burn alerts, `enforcement`
runs error-budget policies (episodes, their action jobs, release freezes, the deploy gate), `actions` carries out
one action (tickets, webhooks, freezes, notes), `queries` and `review` read what is stored,
`objectives` compiles the stored configuration (cached per runtime in `Plans`), `store` reads counts back.
"""

from mamori.slo.service.evaluation import evaluate_all, evaluate_offline
from mamori.slo.service.ingest import LEVELS, ingest, ingest_otlp, read_events_file, upsert_tally
from mamori.slo.service.objectives import (
    Plans,
    compiled,
    docs_from_config,
    export_prometheus,
    list_objectives,
    objectives_from_config,
)
from mamori.slo.service.queries import get_status, list_alerts, list_status
from mamori.slo.service.store import DbStore, decompose

__all__ = [
    "LEVELS",
    "DbStore",
    "Plans",
    "compiled",
    "decompose",
    "docs_from_config",
    "evaluate_all",
    "evaluate_offline",
    "export_prometheus",
    "get_status",
    "ingest",
    "ingest_otlp",
    "list_alerts",
    "list_objectives",
    "list_status",
    "objectives_from_config",
    "read_events_file",
    "upsert_tally",
]
