"""What the incidents domain tells about each service's place in the Service Reliability Hierarchy.

Incident response: a page-level SLO burn reaches a person (`alerts.reach`). Postmortem and root-cause
analysis: every incident of the last 90 days that requires a postmortem has a published one, and no action
item of its incidents is open past its due date.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.runtime import ReliabilitySignal
from mamori.incidents.alerts import reach
from mamori.incidents.models import ActionItem, Incident, Postmortem

WINDOW = timedelta(days=90)


def signals(session: Session, services: list[str], now: datetime) -> dict[str, list[ReliabilitySignal]]:
    view = reach.OnCallView.stored(session)
    required: dict[str, list[tuple[Incident, str | None]]] = {}
    rows = session.execute(
        select(Incident, Postmortem.status)
        .outerjoin(Postmortem, Postmortem.incident_id == Incident.id)
        .where(Incident.service.in_(services), Incident.status == "resolved", Incident.resolved_at >= now - WINDOW)
    ).all()
    for incident, status in rows:
        if incident.postmortem_required:
            required.setdefault(incident.service or "", []).append((incident, status))
    overdue: dict[str, int] = {}
    late = session.execute(
        select(Incident.service)
        .join(ActionItem, ActionItem.incident_id == Incident.id)
        .where(Incident.service.in_(services), ActionItem.status == "open", ActionItem.due_at < now)
    ).all()
    for (service,) in late:
        overdue[service or ""] = overdue.get(service or "", 0) + 1
    out: dict[str, list[ReliabilitySignal]] = {}
    for name in services:
        burn = reach.burn_route(view, reach.burn_labels(slo="", service=name, severity="page"))
        routed, whom = burn.reach, burn.reach.why if burn.reach.policy else burn.how
        needed = required.get(name, [])
        missing = [f"#{i.number}" for i, status in needed if status != "published"]
        if not needed:
            done = "no incident needing a postmortem in the last 90 days"
        elif missing:
            done = f"{len(needed) - len(missing)} of {len(needed)} published; missing for {', '.join(missing)}"
        else:
            done = f"all {len(needed)} published"
        late_count = overdue.get(name, 0)
        out[name] = [
            ReliabilitySignal("incident_response", "on-call that reaches a person", routed.reachable, whom),
            ReliabilitySignal("postmortems", "postmortems for its incidents", not missing, done),
            ReliabilitySignal(
                "postmortems",
                "postmortem action items closed",
                late_count == 0,
                f"{late_count} open past their due date" if late_count else "none open past its due date",
            ),
        ]
    return out
