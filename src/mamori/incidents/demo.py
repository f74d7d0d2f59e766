"""Demo data: schedules and policies as config, a routed alert, and a past incident with its postmortem."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.incidents.alerts import service
from mamori.incidents.alerts.intake import FIRING, IncomingAlert
from mamori.incidents.kinds import stored as config
from mamori.incidents.models import Incident
from mamori.incidents.response import service as response

DEMO = Path(__file__).resolve().parent / "demo"
ACTOR = Actor(name="demo", source="config")


def seed(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO, runtime.kinds), actor=ACTOR)
    now = runtime.now()
    with runtime.sessions.begin() as session:
        labels = {"alertname": "HighLatency", "service": "jobs-api", "severity": "critical"}
        incoming = IncomingAlert("demo-latency", FIRING, labels, "jobs-api p99 latency above 1.5s")
        service.receive(
            session,
            runtime,
            integration="prometheus",
            source="alertmanager",
            route_name="production",
            route_spec=config.alert_route(session, "production"),
            incoming=incoming,
            now=now,
        )
        if session.scalar(select(Incident.id).where(Incident.title == "Matching results empty")) is None:
            start = now - timedelta(days=6)
            past = response.declare(
                session,
                runtime,
                title="Matching results empty",
                severity="SEV2",
                service="jobs-web",
                commander="alice@jobs.example",
                actor=ACTOR,
                now=start,
                summary="A bad index build made searches return no jobs for 47 minutes.",
            )
            response.post_update(
                session,
                runtime,
                ref=past.id,
                text="Rolled back the index build",
                status="monitoring",
                actor=ACTOR,
                now=start + timedelta(minutes=40),
            )
            response.post_update(
                session,
                runtime,
                ref=past.id,
                text="Search results normal",
                status="resolved",
                actor=ACTOR,
                now=start + timedelta(minutes=47),
            )
            response.add_action_item(
                session,
                ref=past.id,
                title="Validate index size before swap",
                owner="dave@jobs.example",
                due_at=now + timedelta(days=7),
                now=now,
            )
