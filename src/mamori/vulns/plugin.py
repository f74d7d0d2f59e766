"""What the vulns domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from mamori.core.runtime import Plugin
from mamori.vulns.cli import vulns_app


def plugin() -> Plugin:
    return Plugin(name="vulns", commands={"vulns": vulns_app})
