"""What the findings domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from mamori.core.runtime import Plugin


def plugin() -> Plugin:
    return Plugin(name="findings")
