"""Demo data: jobs-web flag sets for staging and production, and new-search mid-ramp in production with a guard."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.flags import ramps
from mamori.flags.models import FlagRamp

DEMO_DIR = Path(__file__).resolve().parent / "demo"


def seed_demo(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_DIR, runtime.kinds), actor=Actor(name="demo", source="config"))
    with runtime.sessions.begin() as session:
        if session.scalar(select(FlagRamp).where(FlagRamp.flag_key == "new-search")) is not None:
            return
        alice = Actor(name="alice@jobs.example", source="ui")
        now = runtime.now()
        ramp = ramps.start_ramp(
            session,
            environment="production",
            key="new-search",
            steps=[5, 25, 50, 100],
            interval="1d",
            service_name="jobs-web",
            guard="revert",
            actor=alice,
            reason="new search ranking, guarded by the jobs-web SLOs",
            now=now,
        )
        ramps.advance(session, ramp, step=1, now=now)  # mid-ramp: 25% reached already
