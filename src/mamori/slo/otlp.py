"""OTLP/HTTP JSON logs and traces -> request events (the same shape as NDJSON events). No I/O.

Each log record or span becomes one event: `ts` from its time, `service` from the resource's
`service.name`, its attributes (and the resource's) nested by their dots under `attributes`
(`http.route` -> `attributes.http.route`), plus the usual shortcuts `route`, `method`, `status`
and, for spans, `duration_ms` and `error` (span status code 2).
"""

from __future__ import annotations

from typing import Any

from mamori.core.errors import InvalidInput, Problem

SHORTCUTS = {
    "route": ("http.route", "url.path", "http.target"),
    "method": ("http.request.method", "http.method"),
    "status": ("http.response.status_code", "http.status_code"),
}


def any_value(value: Any) -> Any:
    """Decode an OTLP AnyValue (`{"stringValue": ...}`, `{"intValue": "42"}`, ...)."""
    if not isinstance(value, dict) or not value:
        return None
    kind, raw = next(iter(value.items()))
    if kind == "intValue":
        return int(raw)
    if kind == "doubleValue":
        return float(raw)
    if kind in ("stringValue", "boolValue", "bytesValue"):
        return raw
    if kind == "arrayValue":
        return [any_value(v) for v in (raw or {}).get("values", [])]
    if kind == "kvlistValue":
        return attributes((raw or {}).get("values", []))
    return None


def attributes(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = any_value(item.get("value"))
    return out


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if not isinstance(node.get(parts[-1]), dict):
            node[parts[-1]] = value
    return nested


def _event(flat: dict[str, Any], *, ts_nano: Any, service: str) -> dict[str, Any]:
    event: dict[str, Any] = {"ts": int(ts_nano) // 1_000_000, "service": service, "attributes": _nest(flat)}
    for name, keys in SHORTCUTS.items():
        for key in keys:
            if key in flat:
                event[name] = flat[key]
                break
    if "status" in event and isinstance(event["status"], str) and event["status"].isdigit():
        event["status"] = int(event["status"])
    return event


def _records(body: dict[str, Any], *, signal: str) -> list[dict[str, Any]]:
    resource_key, scope_key, item_key = (
        ("resourceLogs", "scopeLogs", "logRecords") if signal == "logs" else ("resourceSpans", "scopeSpans", "spans")
    )
    events = []
    for resource_block in body.get(resource_key) or []:
        resource = attributes((resource_block.get("resource") or {}).get("attributes"))
        service = resource.get("service.name")
        if not isinstance(service, str) or not service:
            raise ValueError("a resource has no service.name attribute")
        for scope in resource_block.get(scope_key) or []:
            for item in scope.get(item_key) or []:
                flat = {**resource, **attributes(item.get("attributes"))}
                if signal == "logs":
                    ts = item.get("timeUnixNano") or item.get("observedTimeUnixNano")
                    if not ts or int(ts) == 0:
                        raise ValueError("a log record has neither timeUnixNano nor observedTimeUnixNano")
                    events.append(_event(flat, ts_nano=ts, service=service))
                    continue
                start, end = (
                    int(item["startTimeUnixNano"]),
                    int(item.get("endTimeUnixNano") or item["startTimeUnixNano"]),
                )
                event = _event(flat, ts_nano=start, service=service)
                event["duration_ms"] = (end - start) / 1_000_000
                event["error"] = (item.get("status") or {}).get("code") in (2, "STATUS_CODE_ERROR")
                event["name"] = item.get("name")
                events.append(event)
    return events


def to_events(body: Any, *, signal: str) -> list[dict[str, Any]]:
    """Events from an ExportLogsServiceRequest (`signal="logs"`) or ExportTraceServiceRequest (`"traces"`)."""
    if not isinstance(body, dict):
        raise InvalidInput("expected an OTLP/HTTP JSON export request (a JSON object)")
    try:
        return _records(body, signal=signal)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = str(exc) if isinstance(exc, ValueError) else f"malformed OTLP {signal}: {exc!r}"
        raise InvalidInput(
            "the OTLP export request is not valid; nothing was counted", problems=[Problem(loc=signal, msg=detail)]
        ) from None
