"""Routing an alert through an AlertRoute: first match wins unless `continue`; fingerprints and group keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mamori.incidents.alerts.matchers import Matcher, matches_all, parse_matchers
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


@dataclass(frozen=True)
class RouteNode:
    """One node of an Alertmanager routing tree; `key` is whatever the caller needs back (an index)."""

    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    routes: tuple[RouteNode, ...] = ()
    key: object = field(default=None, compare=False)


def matching_nodes(node: RouteNode, labels: Mapping[str, str]) -> list[RouteNode]:
    """Alertmanager's walk: a node that matches yields what its children yield, depth first, stopping after
    the first child that yields something unless that child says `continue`; it yields itself when no
    child does. A node that does not match yields nothing."""
    if not matches_all(list(node.matchers), labels):
        return []
    found: list[RouteNode] = []
    for child in node.routes:
        below = matching_nodes(child, labels)
        found.extend(below)
        if below and not child.continue_:
            break
    return found or [node]


def _tree(spec: AlertRouteSpec) -> RouteNode:
    """The spec as a tree: the default is the root, each route one child of it."""
    children = tuple(
        RouteNode(matchers=tuple(parse_matchers(r.matchers)), continue_=r.continue_, key=index)
        for index, r in enumerate(spec.routes)
    )
    return RouteNode(routes=children)


def route(route_name: str, spec: AlertRouteSpec, labels: Mapping[str, str]) -> list[RouteResult]:
    """Every route the alert goes to: the first match, plus later ones while matches say `continue`;
    the default route when nothing matched. Unset fields fall back to the default, then to labels."""
    fp = fingerprint(labels)
    results: list[RouteResult] = []
    for node in matching_nodes(_tree(spec), labels):
        index = node.key if isinstance(node.key, int) else None
        chosen = spec.routes[index].set if index is not None else spec.default
        results.append(_result(route_name, spec, labels, chosen, index=index, fp=fp))
    return results
