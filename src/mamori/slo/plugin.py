"""What the slo domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from mamori.core.runtime import Plugin
from mamori.slo import models  # noqa: F401  (the tables must be in the metadata)
from mamori.slo.kinds import KINDS


def plugin() -> Plugin:
    return Plugin(name="slo", kinds=list(KINDS))
