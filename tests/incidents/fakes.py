"""Test stand-ins: a notifier that records pages (and can be told to fail), and config set-up."""

from __future__ import annotations

from pathlib import Path

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.integrations.notify import InMemoryNotifier, Notifiers
from tests.incidents.examples import write_config

USERS = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: %(name)s}
spec:
  email: %(name)s@example.com
  name: %(name)s
  contacts:
    - {type: email, address: %(name)s@example.com}
    - {type: webhook, url: "https://hooks.example.com/%(name)s"}
"""


RecordingNotifier = InMemoryNotifier
"""The shared notifier twin: keeps `(target, message)` of each send; `failures_left` sends fail first."""


def install_fakes(runtime: Runtime) -> dict[str, RecordingNotifier]:
    fakes = {c: RecordingNotifier(c) for c in ("email", "webhook", "slack")}
    runtime.states.put(Notifiers(dict(fakes)))
    return fakes


def apply_config(runtime: Runtime, root: Path, *extra: str) -> None:
    users = [USERS % {"name": n} for n in ("alice", "bob", "carol", "dave", "erin", "frank")]
    bundle = manifest.load(write_config(root, "---\n".join(users), *extra), runtime.kinds)
    manifest.apply(runtime, bundle, actor=Actor(name="test", source="config"))


def am_payload(*alerts: dict[str, object], status: str = "firing") -> dict[str, object]:
    """An Alertmanager webhook v4 body."""
    items = [
        {
            "status": a.get("status", status),
            "labels": a["labels"],
            "annotations": a.get("annotations", {}),
            "startsAt": "2026-11-28T11:59:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph",
            **({"fingerprint": a["fingerprint"]} if "fingerprint" in a else {}),
        }
        for a in alerts
    ]
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "mamori",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am:9093",
        "alerts": items,
    }
