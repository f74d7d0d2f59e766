"""OTLP/HTTP JSON metrics: samples as one ExportMetricsServiceRequest (a resource per service, gauges with
their labels as attributes, 64-bit times as decimal strings, lowerCamelCase keys) (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mamori.delivery.sinks.datadog import metric_name
from mamori.delivery.sinks.samples import Sample

SCOPE = {"name": "mamori.delivery", "version": "1"}
METRICS_PATH = "/v1/metrics"


def _attributes(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": k, "value": {"stringValue": v}} for k, v in sorted(labels.items())]


def request(samples: Sequence[Sample], *, time_unix_nano: int) -> dict[str, Any]:
    by_service: dict[str, dict[str, dict[str, Any]]] = {}
    for s in samples:
        service = s.labels.get("service", "unknown")
        metrics = by_service.setdefault(service, {})
        metric = metrics.setdefault(
            s.name,
            {"name": metric_name(s.name), "description": s.help, "unit": _unit(s.name), "gauge": {"dataPoints": []}},
        )
        point = {
            "timeUnixNano": str(time_unix_nano),
            "asDouble": s.value,
            "attributes": _attributes({k: v for k, v in s.labels.items() if k != "service"}),
        }
        metric["gauge"]["dataPoints"].append(point)
    return {
        "resourceMetrics": [
            {
                "resource": {"attributes": _attributes({"service.name": service})},
                "scopeMetrics": [{"scope": dict(SCOPE), "metrics": list(metrics.values())}],
            }
            for service, metrics in sorted(by_service.items())
        ]
    }


def _unit(name: str) -> str:
    if name.endswith("_seconds"):
        return "s"
    return "1"
