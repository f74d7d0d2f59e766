"""Reading applied incidents configuration back from the kernel's config store as typed specs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mamori.core import manifest
from mamori.core.errors import NotFound
from mamori.incidents.alerts.severity import DEFAULT_SEVERITIES, Severity
from mamori.incidents.kinds import ALERT_ROUTE, INTEGRATION, POLICY, SCHEDULE, SEVERITY
from mamori.incidents.kinds.documents import (
    AlertRouteSpec,
    EscalationPolicySpec,
    IntegrationSpec,
    ScheduleSpec,
    SeverityLevelSpec,
)


def integration(session: Session, name: str) -> IntegrationSpec:
    spec = manifest.stored_specs(session, kind=INTEGRATION).get(name)
    if spec is None:
        raise NotFound(f"no Integration named {name!r}; apply one with `mamori apply`")
    return IntegrationSpec.model_validate(spec)


def alert_route(session: Session, name: str) -> AlertRouteSpec:
    spec = manifest.stored_specs(session, kind=ALERT_ROUTE).get(name)
    if spec is None:
        raise NotFound(f"no AlertRoute named {name!r}")
    return AlertRouteSpec.model_validate(spec)


def policy(session: Session, name: str) -> EscalationPolicySpec | None:
    spec = manifest.stored_specs(session, kind=POLICY).get(name)
    return EscalationPolicySpec.model_validate(spec) if spec is not None else None


def schedules(session: Session) -> dict[str, ScheduleSpec]:
    return {n: ScheduleSpec.model_validate(s) for n, s in manifest.stored_specs(session, kind=SCHEDULE).items()}


def schedule(session: Session, name: str) -> ScheduleSpec:
    spec = manifest.stored_specs(session, kind=SCHEDULE).get(name)
    if spec is None:
        raise NotFound(f"no Schedule named {name!r}")
    return ScheduleSpec.model_validate(spec)


def severities(session: Session) -> dict[str, Severity]:
    """The shipped defaults with any applied SeverityLevel documents laid over them."""
    out = dict(DEFAULT_SEVERITIES)
    for name, raw in manifest.stored_specs(session, kind=SEVERITY).items():
        s = SeverityLevelSpec.model_validate(raw)
        out[name] = Severity(
            name,
            s.rank,
            s.description,
            s.major,
            s.incident_commander,
            s.page,
            s.update_every,
            s.postmortem_required,
            s.postmortem_due_days,
            s.postmortem_business_days,
        )
    return dict(sorted(out.items(), key=lambda kv: kv[1].rank))


def severity(session: Session, name: str) -> Severity:
    found = severities(session).get(name)
    if found is None:
        raise NotFound(f"unknown severity {name!r}")
    return found
