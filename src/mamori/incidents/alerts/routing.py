"""Routing an alert through an AlertRoute: first match wins unless `continue`; fingerprints and group keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mamori.incidents.alerts.matchers import matches_all, parse_matchers
from mamori.incidents.kinds.documents import AlertRouteSpec, RouteSet

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_SEP = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's label-set fingerprint: FNV-1a 64 over sorted name/value pairs, 0xff separated."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            h = ((h ^ _SEP) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def group_key(route_name: str, group_by: list[str], labels: Mapping[str, str]) -> str:
    """`route:{name="value",...}` over the groupBy labels, in the order groupBy lists them."""
    parts = ",".join(f'{name}="{labels.get(name, "")}"' for name in group_by)
    return f"{route_name}:{{{parts}}}"


@dataclass(frozen=True)
class RouteResult:
    fingerprint: str
    group_key: str
    service: str | None
    team: str | None
    severity: str
    escalation_policy: str | None
    route_index: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "fingerprint": self.fingerprint,
            "group_key": self.group_key,
            "service": self.service,
            "team": self.team,
            "severity": self.severity,
            "escalation_policy": self.escalation_policy,
            "route_index": self.route_index,
        }


def _result(
    route_name: str, spec: AlertRouteSpec, labels: Mapping[str, str], chosen: RouteSet, *, index: int | None, fp: str
) -> RouteResult:
    default = spec.default
    return RouteResult(
        fingerprint=fp,
        group_key=group_key(route_name, spec.group_by, labels),
        service=chosen.service or default.service or labels.get("service") or None,
        team=chosen.team or default.team or labels.get("team") or None,
        severity=chosen.severity or default.severity or "SEV3",
        escalation_policy=chosen.escalation_policy or default.escalation_policy,
        route_index=index,
    )


def route(route_name: str, spec: AlertRouteSpec, labels: Mapping[str, str]) -> list[RouteResult]:
    """Every route the alert goes to: the first match, plus later ones while matches say `continue`;
    the default route when nothing matched. Unset fields fall back to the default, then to labels."""
    fp = fingerprint(labels)
    results: list[RouteResult] = []
    for index, candidate in enumerate(spec.routes):
        if not matches_all(parse_matchers(candidate.matchers), labels):
            continue
        results.append(_result(route_name, spec, labels, candidate.set, index=index, fp=fp))
        if not candidate.continue_:
            return results
    if not results:
        results.append(_result(route_name, spec, labels, spec.default, index=None, fp=fp))
    return results
