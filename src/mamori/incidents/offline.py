"""Offline use cases on a configuration bundle (no database): route a payload, who is on call, shifts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mamori.core.clock import parse_instant
from mamori.core.errors import InvalidInput, NotFound
from mamori.core.manifest import Bundle
from mamori.incidents.alerts import routing
from mamori.incidents.kinds import ALERT_ROUTE, SCHEDULE
from mamori.incidents.kinds.documents import AlertRouteSpec, ScheduleSpec
from mamori.incidents.oncall import ical, rotation


def label_sets(payload: Any) -> list[dict[str, str]]:
    """Labels of each alert in an Alertmanager webhook body, an API v2 alert list, or one alert."""
    if isinstance(payload, dict) and isinstance(payload.get("alerts"), list):
        items = payload["alerts"]
    elif isinstance(payload, list):
        items = payload
    elif isinstance(payload, dict) and "labels" in payload:
        items = [payload]
    else:
        raise InvalidInput(
            "payload must be an Alertmanager webhook body (with 'alerts'), a list of alerts, or one alert with 'labels'"
        )
    out: list[dict[str, str]] = []
    for i, item in enumerate(items):
        labels = item.get("labels") if isinstance(item, dict) else None
        if not isinstance(labels, dict):
            raise InvalidInput(f"alerts[{i}].labels must be a mapping of label names to strings")
        out.append({str(k): str(v) for k, v in labels.items()})
    return out


def pick_route(bundle: Bundle, name: str | None) -> tuple[str, AlertRouteSpec]:
    docs = bundle.of_kind(ALERT_ROUTE)
    if name is not None:
        doc = bundle.get(ALERT_ROUTE, name)
        if doc is None:
            raise NotFound(f"no AlertRoute named {name!r}; known: {', '.join(sorted(d.name for d in docs)) or 'none'}")
        return doc.name, doc.model
    if len(docs) != 1:
        raise InvalidInput(f"the configuration has {len(docs)} AlertRoutes; choose one with --route")
    return docs[0].name, docs[0].model


def route_payload(bundle: Bundle, payload: Any, *, route_name: str | None = None) -> list[dict[str, object]]:
    name, spec = pick_route(bundle, route_name)
    return [r.as_dict() for labels in label_sets(payload) for r in routing.route(name, spec, labels)]


def schedule_spec(bundle: Bundle, name: str) -> ScheduleSpec:
    doc = bundle.get(SCHEDULE, name)
    if doc is None:
        known = ", ".join(sorted(bundle.names(SCHEDULE))) or "none"
        raise NotFound(f"no Schedule named {name!r}; known: {known}")
    spec: ScheduleSpec = doc.model
    return spec


def who(bundle: Bundle, schedule: str, at: str) -> dict[str, object]:
    instant = parse_instant(at)
    shift = rotation.who(schedule_spec(bundle, schedule), instant)
    return {
        "schedule": schedule,
        "at": _iso(instant),
        "users": [shift.user] if shift.user else [],
        "layer": shift.layer,
    }


def shifts(bundle: Bundle, schedule: str, start: str, end: str) -> dict[str, object]:
    lo, hi = parse_instant(start), parse_instant(end)
    if hi <= lo:
        raise InvalidInput("--to must be after --from")
    spec = schedule_spec(bundle, schedule)
    return {
        "schedule": schedule,
        "from": _iso(lo),
        "to": _iso(hi),
        "shifts": [s.as_dict() for s in rotation.final_shifts(spec, lo, hi)],
    }


def shifts_ical(bundle: Bundle, schedule: str, start: str, end: str, *, now: datetime) -> str:
    """The same final shifts as an iCalendar file (gaps left out), e.g. to import into a calendar."""
    lo, hi = parse_instant(start), parse_instant(end)
    if hi <= lo:
        raise InvalidInput("--to must be after --from")
    final = rotation.final_shifts(schedule_spec(bundle, schedule), lo, hi)
    return ical.calendar(((schedule, s) for s in final), name=f"On call: {schedule}", now=now)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
