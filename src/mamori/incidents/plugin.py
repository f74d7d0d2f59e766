"""What the incidents domain adds to Mamori: kinds, jobs, routers, pages, CLI, catalog slots, demo data."""

from __future__ import annotations

from mamori.core.runtime import Plugin
from mamori.incidents import kinds


def plugin() -> Plugin:
    # The CLI edge imports mamori.cli_support, which imports mamori.wiring, which imports this
    # module: so the edges are imported when the plugin is built, after wiring has loaded.
    from mamori.incidents.cli import alerts_app, oncall_app

    return Plugin(
        name="incidents",
        kinds=list(kinds.KINDS),
        commands={"alerts": alerts_app, "oncall": oncall_app},
    )
