"""What the slo domain adds to the service catalog: the "SLO status" column."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mamori.core.runtime import ServiceNotice
from mamori.slo.models import SloStatus
from mamori.slo.service import freezes, queries


def catalog_slot(session: Session, service_names: list[str], now: datetime) -> dict[str, str]:
    """The catalog's "SLO status" column: how many SLOs, the lowest budget left, what is burning or frozen."""
    out: dict[str, str] = {}
    statuses: dict[str, list[SloStatus]] = {}
    for status in queries.list_status(session):
        statuses.setdefault(status.service, []).append(status)
    burning: dict[str, set[str]] = {}
    for alert in queries.list_alerts(session, status="firing"):
        burning.setdefault(alert.service, set()).add(alert.severity)
    frozen_by: dict[str, list[freezes.FreezeView]] = {}
    for view in freezes.active(session, now=now):
        frozen_by.setdefault(view.service, []).append(view)
    for name in service_names:
        rows = statuses.get(name)
        if not rows:
            continue
        worst = min(rows, key=lambda r: r.remaining)
        text = f"{len(rows)} SLO{'s' if len(rows) != 1 else ''} · lowest budget {worst.remaining:.0%} ({worst.slo})"
        if burning.get(name):
            text += " · burning: " + "/".join(sorted(burning[name]))
        frozen = frozen_by.get(name)
        if frozen:
            text += f" · releases frozen since {frozen[0].since:%Y-%m-%d %H:%M} UTC: {frozen[0].reason}"
            if all(f.bypass is not None for f in frozen):
                text += f" (bypassed by {frozen[0].bypass.granted_by})"  # type: ignore[union-attr]
        out[name] = text
    return out


def freeze_notices(session: Session, service_names: list[str], now: datetime) -> list[ServiceNotice]:
    """Each freeze still holding on these services, with its cause, its bypass and the lift and bypass forms."""
    wanted = set(service_names)
    return [
        ServiceNotice(
            key=f"slo.freeze.{view.id}", service=view.service, template="slo/_freeze.html", context={"freeze": view}
        )
        for view in freezes.active(session, now=now)
        if view.service in wanted
    ]
