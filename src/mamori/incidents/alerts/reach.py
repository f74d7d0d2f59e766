"""Who an SLO burn reaches: its AlertRoute, else the service's owner team's escalation policy, else nobody.

Burns route through the AlertRoute named `slo` like any alert (labels alertname=SLOBurn, slo, service,
severity=page|ticket, objective). When that route gives no escalation policy (there is no such route, or
neither the matching route nor its default names one), the burn goes to the service's owner team's policy:
the EscalationPolicy named after the team, else the one an AlertRoute sets together with `team: <team>`.
A policy reaches a person when one of its steps names a user with a contact, a schedule with such a user in
a layer, shift or override, or a team with a Slack channel or an email address.

The same answer is computed from what is stored (`OnCallView.stored`, for a burn and the pages) and from a
configuration directory laid over what is stored (`OnCallView.of_bundle`, for `mamori validate`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import manifest
from mamori.core.documents import MAMORI_API, Bundle
from mamori.core.models import Service, Team, User
from mamori.incidents.alerts import routing
from mamori.incidents.kinds import ALERT_ROUTE, POLICY, SCHEDULE
from mamori.incidents.kinds.documents import AlertRouteSpec, EscalationPolicySpec, RouteSet, ScheduleSpec
from mamori.incidents.models import AlertGroup

SLO_ROUTE = "slo"
INTEGRATION = "slo"
"""The integration name of alerts from SLO burns (`burns.INTEGRATION`)."""


@dataclass
class OnCallView:
    """The on-call configuration an answer needs: policies, schedules, routes, who has a contact."""

    policies: dict[str, EscalationPolicySpec] = field(default_factory=dict)
    schedules: dict[str, ScheduleSpec] = field(default_factory=dict)
    routes: dict[str, AlertRouteSpec] = field(default_factory=dict)
    contactable: set[str] = field(default_factory=set)
    """Lower-cased emails (and handles) of active users with at least one contact."""
    team_channels: set[str] = field(default_factory=set)
    """Teams with a Slack channel or an email address of their own."""
    owners: dict[str, str | None] = field(default_factory=dict)
    """Service -> owner team."""

    @classmethod
    def stored(cls, session: Session) -> OnCallView:
        view = cls()
        view.policies = _specs(manifest.stored_specs(session, kind=POLICY), EscalationPolicySpec)
        view.schedules = _specs(manifest.stored_specs(session, kind=SCHEDULE), ScheduleSpec)
        view.routes = _specs(manifest.stored_specs(session, kind=ALERT_ROUTE), AlertRouteSpec)
        for user in session.scalars(select(User).where(User.active)):
            if user.contacts:
                view.contactable.update(ref.lower() for ref in (user.email, user.handle) if ref)
        for team in session.scalars(select(Team)):
            if team.slack_channel or team.email:
                view.team_channels.add(team.name)
        for service in session.scalars(select(Service)):
            view.owners[service.name] = service.owner_team.name if service.owner_team else None
        return view

    @classmethod
    def of_bundle(cls, bundle: Bundle, session: Session | None) -> OnCallView:
        """What is stored (when there is a database) with the bundle's documents laid over it."""
        view = cls.stored(session) if session is not None else cls()
        for doc in bundle.of_kind(POLICY, MAMORI_API):
            view.policies[doc.name] = doc.model
        for doc in bundle.of_kind(SCHEDULE, MAMORI_API):
            view.schedules[doc.name] = doc.model
        for doc in bundle.of_kind(ALERT_ROUTE, MAMORI_API):
            view.routes[doc.name] = doc.model
        for doc in bundle.of_kind("User", MAMORI_API):
            refs = {doc.model.email.lower(), doc.name.lower()}
            if doc.model.contacts:
                view.contactable.update(refs)
            else:
                view.contactable.difference_update(refs)
        for doc in bundle.of_kind("Team", MAMORI_API):
            if doc.model.slack_channel or doc.model.email:
                view.team_channels.add(doc.name)
            else:
                view.team_channels.discard(doc.name)
        for doc in bundle.of_kind("Service", MAMORI_API):
            view.owners[doc.name] = doc.model.owner
        return view


def _specs(raw: Mapping[str, dict[str, Any]], model: Any) -> dict[str, Any]:
    return {name: model.model_validate(spec) for name, spec in raw.items()}


def _schedule_users(spec: ScheduleSpec) -> list[str]:
    users: list[str] = []
    for layer in spec.layers:
        users.extend(layer.users)
        users.extend(shift.user for shift in layer.shifts or [])
    users.extend(o.user for o in spec.overrides)
    return users


@dataclass(frozen=True)
class Reach:
    """Whether a policy reaches a person, whom, and in words why (not)."""

    policy: str | None
    people: tuple[str, ...]
    channels: tuple[str, ...]
    why: str

    @property
    def reachable(self) -> bool:
        return bool(self.people or self.channels)


def policy_reach(view: OnCallView, name: str | None, spec: EscalationPolicySpec | None = None) -> Reach:
    """Whom policy `name` can page (its stored spec, or `spec`, e.g. an alert group's snapshot)."""
    if name is None:
        return Reach(None, (), (), "no escalation policy")
    spec = spec or view.policies.get(name)
    if spec is None:
        return Reach(name, (), (), f"no EscalationPolicy {name!r} is stored")
    people: list[str] = []
    channels: list[str] = []
    named: list[str] = []
    for step in spec.steps:
        candidates = list(step.notify.users)
        if step.notify.schedule:
            schedule = view.schedules.get(step.notify.schedule)
            candidates += _schedule_users(schedule) if schedule else []
        named += candidates
        people += [u for u in candidates if u.lower() in view.contactable]
        if step.notify.team and step.notify.team in view.team_channels:
            channels.append(f"team {step.notify.team}")
    people_t, channels_t = tuple(dict.fromkeys(people)), tuple(dict.fromkeys(channels))
    if people_t or channels_t:
        who = ", ".join([*people_t, *channels_t])
        return Reach(name, people_t, channels_t, f"policy {name} reaches {who}")
    if named:
        why = f"policy {name} names {', '.join(dict.fromkeys(named))}, none of them a user with a contact"
    else:
        why = f"policy {name} names no user, no schedule with users and no team with a channel"
    return Reach(name, (), (), why)


def owner_policy(view: OnCallView, service: str) -> tuple[str | None, str | None, str]:
    """(owner team, its escalation policy, how it was found or why there is none)."""
    team = view.owners.get(service)
    if team is None:
        known = service in view.owners
        return None, None, f"service {service} has no owner team" if known else f"no Service {service} in the catalog"
    if team in view.policies:
        return team, team, f"owner team {team}: the EscalationPolicy named after it"
    for route_name, spec in sorted(view.routes.items()):
        for route_set in [*(r.set for r in spec.routes), spec.default]:
            if route_set.team == team and route_set.escalation_policy:
                return team, route_set.escalation_policy, f"owner team {team}: AlertRoute {route_name} pages it so"
    return team, None, f"owner team {team} has no EscalationPolicy (none named {team}, no AlertRoute sets it)"


def burn_labels(*, slo: str, service: str, severity: str, objective: str = "0") -> dict[str, str]:
    return {"alertname": "SLOBurn", "slo": slo, "service": service, "severity": severity, "objective": objective}


@dataclass(frozen=True)
class BurnRouting:
    """How a burn is routed: the route spec to hand to `service.receive`, and whom it reaches."""

    spec: AlertRouteSpec
    how: str
    reach: Reach


def burn_route(view: OnCallView, labels: Mapping[str, str]) -> BurnRouting:
    """The route of a burn with these labels: the `slo` AlertRoute, with the owner team's policy filled in where
    it gives none; `reach` says whom the first result reaches (and why nobody, when nobody)."""
    stored = view.routes.get(SLO_ROUTE)
    severity = "SEV2" if labels.get("severity") == "page" else "SEV4"
    spec = stored or AlertRouteSpec(
        group_by=["alertname", "slo", "severity"], routes=[], default=RouteSet(severity=severity)
    )
    results = routing.route(SLO_ROUTE, spec, labels)
    how = f"AlertRoute {SLO_ROUTE}" if stored is not None else f"no AlertRoute {SLO_ROUTE}"
    if not any(r.escalation_policy for r in results):
        team, policy, found = owner_policy(view, labels.get("service", ""))
        if policy is not None:
            default = spec.default.model_copy(update={"escalation_policy": policy, "team": spec.default.team or team})
            spec = spec.model_copy(update={"default": default})
            results = routing.route(SLO_ROUTE, spec, labels)
        how = f"{'AlertRoute slo gives no escalation policy' if stored is not None else how}; {found}"
    reaches = [policy_reach(view, r.escalation_policy) for r in results]
    best = next((r for r in reaches if r.reachable), reaches[0])
    return BurnRouting(spec, how, best)


def unreachable_services(view: OnCallView, slos: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Service -> why, for every service one of whose SLOs (service, slo) pages nobody when it burns."""
    out: dict[str, str] = {}
    for service, slo in slos:
        routed = burn_route(view, burn_labels(slo=slo, service=service, severity="page"))
        if not routed.reach.reachable and service not in out:
            why = routed.how if routed.reach.policy is None else f"{routed.how}; {routed.reach.why}"
            out[service] = f"SLO {slo}: {why}"
    return out


def group_reach(session: Session, group: AlertGroup) -> Reach:
    """Whom an alert group's policy (as snapshotted when it opened) reaches; for a group without a policy, why
    it has none (for an SLO burn: the `slo` route and the owner team, as they are now)."""
    view = OnCallView.stored(session)
    if group.escalation_policy is None:
        if group.integration == INTEGRATION:
            labels = burn_labels(slo="", service=group.service or "", severity="page")
            return Reach(None, (), (), f"nobody is paged: {burn_route(view, labels).how}")
        return Reach(None, (), (), "nobody is paged: its AlertRoute gives no escalation policy")
    snapshot = (group.policy_snapshot or {}).get("spec")
    spec = EscalationPolicySpec.model_validate(snapshot) if snapshot else None
    found = policy_reach(view, group.escalation_policy, spec)
    return found if found.reachable else Reach(found.policy, (), (), f"nobody is paged: {found.why}")


def unknown_schedule_users(bundle: Bundle) -> list[str]:
    """A warning for each Schedule in the bundle that names someone who is no User (declared or stored): such
    a shift pages nobody."""
    known = {ref.lower() for ref in bundle.names("User")}
    known |= {doc.model.email.lower() for doc in bundle.of_kind("User", MAMORI_API)}
    out = []
    for doc in bundle.of_kind(SCHEDULE, MAMORI_API):
        strangers = [u for u in dict.fromkeys(_schedule_users(doc.model)) if u.lower() not in known]
        if strangers:
            out.append(f"Schedule {doc.name} ({doc.file}): {', '.join(strangers)} is no declared or stored User")
    return out
