"""KindDefs and cross-document checks for the incidents domain's configuration kinds."""

from __future__ import annotations

from typing import Any

from mamori.core.errors import Problem, ValidationFailed
from mamori.core.manifest import MAMORI_API, Bundle, Document, KindDef
from mamori.incidents.alerts.severity import SEVERITY_NAMES
from mamori.incidents.kinds.documents import (
    AlertRouteSpec,
    EscalationPolicySpec,
    IntegrationSpec,
    ScheduleSpec,
    SeverityLevelSpec,
)
from mamori.incidents.oncall import ical

ALERT_ROUTE, INTEGRATION, SCHEDULE, POLICY, SEVERITY = (
    "AlertRoute",
    "Integration",
    "Schedule",
    "EscalationPolicy",
    "SeverityLevel",
)


def _prepare_schedule(doc: Document) -> dict[str, Any]:
    """Layers written as `ical: FILE.ics` (relative to the document's file) get the file's events as shifts."""
    spec = dict(doc.spec)
    layers = spec.get("layers")
    if not isinstance(layers, list):
        return spec
    problems: list[Problem] = []
    out: list[Any] = []
    for i, layer in enumerate(layers):
        if isinstance(layer, dict) and isinstance(layer.get("ical"), str) and "shifts" not in layer:
            try:
                path = doc.beside(layer["ical"])
            except ValueError as exc:
                problems.append(doc.problem(f"spec.layers[{i}].ical", str(exc)))
                continue
            try:
                events = ical.parse_events(path.read_text(encoding="utf-8"))
            except OSError as exc:
                problems.append(doc.problem(f"spec.layers[{i}].ical", f"cannot read {path}: {exc.strerror}"))
            except (ical.ICalError, UnicodeDecodeError) as exc:
                problems.append(doc.problem(f"spec.layers[{i}].ical", f"{layer['ical']}: {exc}"))
            else:
                out.append({**layer, "shifts": ical.to_shift_specs(events)})
                continue
        out.append(layer)
    if problems:
        raise ValidationFailed("cannot read iCalendar layers", problems=problems)
    spec["layers"] = out
    return spec


def _check_route(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: AlertRouteSpec = doc.model
    severities = set(SEVERITY_NAMES) | bundle.names(SEVERITY)
    policies = bundle.names(POLICY)
    problems: list[Problem] = []
    sets = [(f"spec.routes[{i}].set", r.set) for i, r in enumerate(spec.routes)] + [("spec.default", spec.default)]
    for loc, route_set in sets:
        if route_set.severity is not None and route_set.severity not in severities:
            problems.append(
                doc.problem(
                    f"{loc}.severity",
                    f"unknown severity {route_set.severity!r}; known: {', '.join(sorted(severities))}",
                )
            )
        policy = route_set.escalation_policy
        if policy is not None and policy not in policies:
            problems.append(
                doc.problem(f"{loc}.escalationPolicy", f"no EscalationPolicy named {policy!r} in this configuration")
            )
    return problems


def _check_integration(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: IntegrationSpec = doc.model
    problems: list[Problem] = []
    if spec.route not in bundle.names(ALERT_ROUTE):
        problems.append(doc.problem("spec.route", f"no AlertRoute named {spec.route!r} in this configuration"))
    if spec.fields is not None and spec.type != "generic":
        problems.append(doc.problem("spec.fields", "a field mapping is only for integrations of type generic"))
    return problems


def _check_policy(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: EscalationPolicySpec = doc.model
    problems: list[Problem] = []
    teams = bundle.names("Team")
    for i, step in enumerate(spec.steps):
        if step.notify.schedule and step.notify.schedule not in bundle.names(SCHEDULE):
            problems.append(
                doc.problem(
                    f"spec.steps[{i}].notify.schedule",
                    f"no Schedule named {step.notify.schedule!r} in this configuration",
                )
            )
        if step.notify.team and teams and step.notify.team not in teams:
            problems.append(doc.problem(f"spec.steps[{i}].notify.team", f"no Team named {step.notify.team!r}"))
        if step.escalate_after.total_seconds() <= 0:
            problems.append(doc.problem(f"spec.steps[{i}].escalateAfter", "must be longer than zero"))
    return problems


def _check_severity(doc: Document, bundle: Bundle) -> list[Problem]:
    if not doc.name.startswith("SEV"):
        return [doc.problem("metadata.name", "severity levels are named SEV<n>, e.g. SEV1")]
    return []


KINDS = [
    KindDef(MAMORI_API, SEVERITY, SeverityLevelSpec, order=300, check=_check_severity),
    KindDef(MAMORI_API, SCHEDULE, ScheduleSpec, order=310, prepare=_prepare_schedule),
    KindDef(MAMORI_API, POLICY, EscalationPolicySpec, order=320, check=_check_policy),
    KindDef(MAMORI_API, ALERT_ROUTE, AlertRouteSpec, order=330, check=_check_route),
    KindDef(MAMORI_API, INTEGRATION, IntegrationSpec, order=340, check=_check_integration),
]
