"""Drill alert payloads in the shapes Mamori's intake reads (Alertmanager webhook v4, Datadog webhook, generic
JSON with the default field mapping), marked as the drill's. Pure: no I/O, the time comes in."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mamori.gamedays.scenario import AlertInject

DRILL_LABEL = "mamori_drill"
INJECT_LABEL = "mamori_inject"
PREFIX = "[DRILL] "


def drill_title(title: str) -> str:
    return title if title.startswith(PREFIX.strip()) else PREFIX + title


def drill_labels(alert: AlertInject, *, drill_id: str, inject_id: str) -> dict[str, str]:
    return {**alert.labels, DRILL_LABEL: drill_id, INJECT_LABEL: inject_id}


def alert_body(alert: AlertInject, *, drill_id: str, inject_id: str, status: str, at: datetime) -> str:
    """The JSON body to post to the inject's integration; `status` is firing or resolved."""
    labels = drill_labels(alert, drill_id=drill_id, inject_id=inject_id)
    title = drill_title(alert.title)
    key = f"drill-{drill_id}-{inject_id}"
    body: dict[str, Any]
    if alert.source == "alertmanager":
        labels.setdefault("alertname", alert.title[:200])
        item = {
            "status": status,
            "labels": labels,
            "annotations": {**alert.annotations, "summary": title},
            "startsAt": at.isoformat(),
            "fingerprint": key,
        }
        body = {"version": "4", "status": status, "receiver": "mamori-drill", "alerts": [item]}
    elif alert.source == "datadog":
        body = {
            "id": key,
            "title": title,
            "alert_transition": "Triggered" if status == "firing" else "Recovered",
            "tags": [f"{name}:{value}" for name, value in labels.items()],
            "body": alert.annotations.get("description", ""),
        }
    else:
        body = {"id": key, "title": title, "status": status, "labels": labels}
    return json.dumps(body, sort_keys=True)
