"""Datadog's v2 series API: samples as series payloads split under the size limit, tags per service, team,
env and branch, and the retry rule for its answers (pure; the sending is in service/export.py).

Datadog drops points more than an hour old, so every export stamps its points with the time it runs and the
exporter runs every minute; a payload over 512,000 bytes is refused (413), so series are packed into
payloads below `MAX_PAYLOAD_BYTES`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mamori.delivery.sinks.samples import PREFIX, Sample

MAX_PAYLOAD_BYTES = 512_000
TYPES = {"gauge": 3, "count": 1, "rate": 2}
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
SITES = {
    "datadoghq.com": "https://api.datadoghq.com",
    "us3.datadoghq.com": "https://api.us3.datadoghq.com",
    "us5.datadoghq.com": "https://api.us5.datadoghq.com",
    "datadoghq.eu": "https://api.datadoghq.eu",
    "ap1.datadoghq.com": "https://api.ap1.datadoghq.com",
    "ap2.datadoghq.com": "https://api.ap2.datadoghq.com",
    "ddog-gov.com": "https://api.ddog-gov.com",
}
SERIES_PATH = "/api/v2/series"


def metric_name(name: str) -> str:
    """`mamori_delivery_lead_time_seconds` -> `mamori.delivery.lead_time_seconds`."""
    return "mamori.delivery." + name.removeprefix(PREFIX)


def _tag(key: str, value: str) -> str:
    # Datadog lowercases tags and turns most punctuation into underscores; ',' would split a tag list
    return f"{key}:{value.replace(',', '_')}"[:200]


def series(sample: Sample, *, timestamp: int, extra_tags: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "metric": metric_name(sample.name),
        "type": TYPES.get(sample.kind, 0),
        "points": [{"timestamp": timestamp, "value": sample.value}],
        "tags": sorted({*(_tag(k, v) for k, v in sample.labels.items()), *extra_tags}),
    }


def payloads(
    samples: Sequence[Sample], *, timestamp: int, extra_tags: Sequence[str] = (), max_bytes: int = MAX_PAYLOAD_BYTES
) -> list[bytes]:
    """JSON bodies of at most `max_bytes` each, together holding one series per sample."""
    out: list[bytes] = []
    batch: list[bytes] = []
    size = len(b'{"series":[]}')
    for s in samples:
        item = json.dumps(series(s, timestamp=timestamp, extra_tags=extra_tags), separators=(",", ":")).encode()
        if len(item) + len(b'{"series":[]}') > max_bytes:
            raise ValueError(f"one series of {s.name} is larger than {max_bytes} bytes")
        if batch and size + len(item) + 1 > max_bytes:
            out.append(b'{"series":[' + b",".join(batch) + b"]}")
            batch, size = [], len(b'{"series":[]}')
        batch.append(item)
        size += len(item) + (1 if len(batch) > 1 else 0)
    if batch:
        out.append(b'{"series":[' + b",".join(batch) + b"]}")
    return out


def retry_after(
    status: int, headers: dict[str, str], attempt: int, *, base: float = 1.0, cap: float = 30.0
) -> float | None:
    """Seconds to wait before trying again, or None when the answer is final (2xx, or a 4xx other than
    408/429). Datadog's X-RateLimit-Reset (seconds) or Retry-After is honoured on 429."""
    if status < 300 or status not in RETRY_STATUSES:
        return None
    for header in ("x-ratelimit-reset", "retry-after"):
        value = headers.get(header)
        if value and value.strip().isdigit():
            return min(float(value.strip()), cap)
    return min(base * 2.0 ** (attempt - 1), cap)


EVENTS_PATH = "/api/v1/events"


def deploy_event(
    *,
    service: str,
    environment: str,
    status: str,
    version: str | None,
    rollback: bool,
    at: int,
    tags: Sequence[str] = (),
) -> dict[str, Any]:
    """A Datadog event for a finished deploy (events API v1: title, text, tags, alert_type, date_happened)."""
    what = "rolled back" if rollback else ("deployed" if status == "success" else "failed to deploy")
    return {
        "title": f"{service} {what} {version or ''} to {environment}".replace("  ", " "),
        "text": f"Mamori recorded a {status} deploy of {service} to {environment}.",
        "tags": sorted({_tag("service", service), _tag("env", environment), *tags}),
        "alert_type": "success" if status == "success" and not rollback else "warning" if rollback else "error",
        "date_happened": at,
        "source_type_name": "mamori",
        "aggregation_key": f"deploy:{service}:{environment}",
    }
