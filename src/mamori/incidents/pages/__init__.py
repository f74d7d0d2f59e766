"""Dashboard pages of the incidents domain: alerts, the incident console and postmortems, on call.

Each module registers its routes on the one `router` in import order (an alert group's `declare` and
`silence` routes come before its `{action}` route)."""

from __future__ import annotations

from mamori.incidents.pages import action_items, alerts, console, oncall  # noqa: F401  (each registers its routes)
from mamori.incidents.pages.routing import router

__all__ = ["router"]
