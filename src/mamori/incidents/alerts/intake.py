"""Webhook bodies from Alertmanager, Grafana, Datadog, PagerDuty Events v2 and generic JSON, as alerts.

Pure: a body (bytes) in, `IncomingAlert`s out, or `InvalidInput` naming what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mamori.core.clock import parse_instant
from mamori.core.errors import InvalidInput, MamoriError
from mamori.incidents.alerts.routing import fingerprint
from mamori.incidents.kinds.documents import FieldMapping

FIRING, RESOLVED, ACKNOWLEDGED = "firing", "resolved", "acknowledged"
MAX_GENERATOR_URL = 2000


@dataclass(frozen=True)
class IncomingAlert:
    dedup_key: str
    status: str
    labels: dict[str, str]
    title: str
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    generator_url: str | None = None
    """Alertmanager's `generatorURL` (the rule's graph in Prometheus), kept as sent; checked when rendered."""


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidInput("body is JSON nested too deeply to read") from None


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be an object of strings")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    try:
        return parse_instant(value)
    except (MamoriError, ValueError, OverflowError, OSError):  # also an epoch beyond what datetime holds
        return None


def parse_alertmanager(body: bytes) -> list[IncomingAlert]:
    """Alertmanager webhook v4 (Grafana's webhook contact point sends the same shape)."""
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise InvalidInput("expected an Alertmanager webhook body: an object with an 'alerts' list")
    out: list[IncomingAlert] = []
    for i, item in enumerate(data["alerts"]):
        if not isinstance(item, dict):
            raise InvalidInput(f"alerts[{i}] must be an object")
        labels = _strings(item.get("labels"), f"alerts[{i}].labels")
        if not labels:
            raise InvalidInput(f"alerts[{i}].labels is missing or empty")
        status = item.get("status", data.get("status"))
        if status not in (FIRING, RESOLVED):
            raise InvalidInput(f"alerts[{i}].status must be 'firing' or 'resolved', got {status!r}")
        annotations = _strings(item.get("annotations"), f"alerts[{i}].annotations")
        key = item.get("fingerprint") if isinstance(item.get("fingerprint"), str) and item["fingerprint"] else None
        title = annotations.get("summary") or annotations.get("title") or labels.get("alertname", "alert")
        generator = item.get("generatorURL")
        out.append(
            IncomingAlert(
                key or fingerprint(labels),
                status,
                labels,
                title,
                annotations,
                _instant(item.get("startsAt")),
                generator[:MAX_GENERATOR_URL] if isinstance(generator, str) and generator else None,
            )
        )
    return out


PD_ACTIONS = {"trigger": FIRING, "acknowledge": ACKNOWLEDGED, "resolve": RESOLVED}
PD_SEVERITIES = ("critical", "error", "warning", "info")


def parse_pagerduty(body: bytes) -> list[IncomingAlert]:
    """PagerDuty Events API v2. A trigger without dedup_key gets one derived from the body."""
    data = _json(body)
    if not isinstance(data, dict):
        raise InvalidInput("expected a PagerDuty Events API v2 object")
    action = data.get("event_action")
    if not isinstance(action, str) or action not in PD_ACTIONS:
        raise InvalidInput("event_action must be one of trigger, acknowledge, resolve")
    if not isinstance(data.get("routing_key"), str) or not data["routing_key"]:
        raise InvalidInput("routing_key is required")
    dedup = data.get("dedup_key")
    if action != "trigger":
        if not isinstance(dedup, str) or not dedup:
            raise InvalidInput(f"dedup_key is required for {action}")
        return [IncomingAlert(dedup, PD_ACTIONS[action], {}, "")]
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise InvalidInput("payload is required for trigger")
    missing = [k for k in ("summary", "source", "severity") if not payload.get(k)]
    if missing:
        raise InvalidInput(f"payload.{missing[0]} is required for trigger")
    if payload["severity"] not in PD_SEVERITIES:
        raise InvalidInput(f"payload.severity must be one of {', '.join(PD_SEVERITIES)}")
    labels = {
        "alertname": str(payload.get("class") or payload["summary"])[:200],
        "source": str(payload["source"]),
        "severity": str(payload["severity"]),
    }
    for key in ("component", "group", "class"):
        if payload.get(key):
            labels[key] = str(payload[key])
    labels["service"] = str(payload.get("component") or payload["source"])
    key = dedup if isinstance(dedup, str) and dedup else hashlib.sha256(body).hexdigest()[:32]
    details = payload.get("custom_details")
    annotations = {"summary": str(payload["summary"])}
    if details is not None:
        annotations["custom_details"] = details if isinstance(details, str) else json.dumps(details)
    return [
        IncomingAlert(
            key, FIRING, labels, str(payload["summary"])[:500], annotations, _instant(payload.get("timestamp"))
        )
    ]


DD_RESOLVED = {"recovered", "resolved", "ok"}


def parse_datadog(body: bytes) -> list[IncomingAlert]:
    """A Datadog webhook with the usual template variables: id/alert_id, title, alert_transition, tags, aggregate."""
    data = _json(body)
    if not isinstance(data, dict):
        raise InvalidInput("expected a Datadog webhook object")
    key = data.get("aggregate") or data.get("alert_id") or data.get("id")
    if not key:
        raise InvalidInput("one of aggregate, alert_id or id is required")
    title = data.get("title") or data.get("event_title")
    if not isinstance(title, str) or not title:
        raise InvalidInput("title is required")
    transition = str(data.get("alert_transition") or data.get("alert_status") or "Triggered").lower()
    tags = data.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list):
        raise InvalidInput("tags must be a list of 'name:value' strings or a comma-separated string")
    labels = {"alertname": title[:200]}
    for tag in tags:
        name, _, value = str(tag).partition(":")
        labels[name] = value
    if data.get("priority"):
        labels["priority"] = str(data["priority"])
    status = RESOLVED if transition in DD_RESOLVED else FIRING
    return [IncomingAlert(str(key), status, labels, title[:500], {"body": str(data.get("body", ""))})]


def _path(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def parse_generic(body: bytes, mapping: FieldMapping) -> list[IncomingAlert]:
    """Generic JSON with a configurable field mapping (dotted paths)."""
    data = _json(body)
    items = _path(data, mapping.alerts) if mapping.alerts else [data]
    if not isinstance(items, list):
        raise InvalidInput(f"{mapping.alerts} must be a list of alerts")
    out: list[IncomingAlert] = []
    for i, item in enumerate(items):
        where = f"{mapping.alerts}[{i}]." if mapping.alerts else ""
        key, title = _path(item, mapping.key), _path(item, mapping.title)
        if key in (None, ""):
            raise InvalidInput(f"{where}{mapping.key} (the alert key) is missing")
        if not isinstance(title, str) or not title:
            raise InvalidInput(f"{where}{mapping.title} (the title) is missing")
        status_raw = str(_path(item, mapping.status) or "firing").lower()
        labels = _strings(_path(item, mapping.labels) if mapping.labels else None, f"{where}{mapping.labels}")
        labels.setdefault("alertname", title[:200])
        annotations = _strings(
            _path(item, mapping.annotations) if mapping.annotations else None, f"{where}{mapping.annotations}"
        )
        status = RESOLVED if status_raw in mapping.resolved_values else FIRING
        out.append(IncomingAlert(str(key), status, labels, title[:500], annotations))
    return out


def parse(source: str, body: bytes, *, mapping: FieldMapping | None = None) -> list[IncomingAlert]:
    if source in ("alertmanager", "grafana"):
        return parse_alertmanager(body)
    if source == "pagerduty":
        return parse_pagerduty(body)
    if source == "datadog":
        return parse_datadog(body)
    if source == "generic":
        return parse_generic(body, mapping or FieldMapping())
    raise InvalidInput(f"unknown source {source!r}")
