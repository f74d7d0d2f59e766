"""SLO burn-rate alerts from the SLO engine, as alerts (source "slo"), without importing the SLO domain.

Routing (`reach.burn_route`): through the applied AlertRoute named `slo` like any alert (labels:
alertname=SLOBurn, slo, service, severity=page|ticket, objective; without that route page burns become SEV2
and ticket burns SEV4); where it gives no escalation policy, the service's owner team's policy pages. A burn
that reaches nobody says so on its alert page (`reach.group_reach`) and in the catalog.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from mamori.core.jobs import JobContext
from mamori.incidents.alerts import reach, service
from mamori.incidents.alerts.intake import FIRING, RESOLVED, IncomingAlert
from mamori.incidents.kinds.documents import AlertRouteSpec

INTEGRATION = reach.INTEGRATION
ROUTE = reach.SLO_ROUTE


class BurnEvent(Protocol):
    """What an SLO burn event carries (read-only, as published events are frozen)."""

    @property
    def slo(self) -> str: ...

    @property
    def objective(self) -> Any: ...

    @property
    def service(self) -> str: ...

    @property
    def severity(self) -> str: ...

    @property
    def long_window(self) -> Any: ...

    @property
    def short_window(self) -> Any: ...

    @property
    def burn_rate(self) -> float: ...

    @property
    def threshold(self) -> float: ...

    @property
    def at(self) -> datetime: ...


def _labels(event: BurnEvent) -> dict[str, str]:
    return reach.burn_labels(
        slo=str(event.slo), service=str(event.service), severity=str(event.severity), objective=str(event.objective)
    )


def _route(session: Session, event: BurnEvent) -> AlertRouteSpec:
    return reach.burn_route(reach.OnCallView.stored(session), _labels(event)).spec


def _dedup(event: BurnEvent) -> str:
    return f"slo:{event.slo}:{event.severity}"


def ingest_slo_burn(ctx: JobContext, event: BurnEvent) -> None:
    """Open (or update) the alert for a burning SLO; subscribe to slo.events.BurnAlertFired."""
    title = (
        f"SLO {event.slo} of {event.service} burning at {event.burn_rate:.1f}x "
        f"(threshold {event.threshold:g}x over {event.long_window}/{event.short_window})"
    )
    incoming = IncomingAlert(
        _dedup(event),
        FIRING,
        _labels(event),
        title,
        {
            "burn_rate": f"{event.burn_rate:g}",
            "threshold": f"{event.threshold:g}",
            "long_window": str(event.long_window),
            "short_window": str(event.short_window),
        },
        event.at,
    )
    service.receive(
        ctx.session,
        ctx.runtime,
        integration=INTEGRATION,
        source="slo",
        route_name=ROUTE,
        route_spec=_route(ctx.session, event),
        incoming=incoming,
        now=ctx.now,
    )


def resolve_slo_burn(ctx: JobContext, event: BurnEvent) -> None:
    """Resolve the burn alert; subscribe to slo.events.BurnAlertResolved."""
    incoming = IncomingAlert(_dedup(event), RESOLVED, _labels(event), "")
    service.receive(
        ctx.session,
        ctx.runtime,
        integration=INTEGRATION,
        source="slo",
        route_name=ROUTE,
        route_spec=_route(ctx.session, event),
        incoming=incoming,
        now=ctx.now,
    )
