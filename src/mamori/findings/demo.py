"""Demo data: the findings policy and a suppression rule, a Security Hub export, a Dependabot alert and a
CloudTrail log of the demo product."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.findings.models import ImportRun
from mamori.findings.service import intake

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_FILES = ("securityhub-export.json", "dependabot-alert.json", "cloudtrail.json")
"""A Security Hub export of the demo account, a Dependabot alert on jobs-web (the vulns demo's OSV scan
finds the same lodash advisory: one finding, two sources once the worker delivers its event) and a
CloudTrail log with a root sign-in and a security group opened to the world."""


def seed(runtime: Runtime) -> None:
    """Idempotent: the same documents imported again would change nothing, and a demo file already
    imported is not imported again (a second `mamori demo` adds no import runs)."""
    manifest.apply(
        runtime, manifest.load(DEMO_DIR / "config", runtime.kinds), actor=Actor(name="demo", source="config")
    )
    for name in DEMO_FILES:
        with runtime.sessions.begin() as session:
            done = session.scalar(select(ImportRun.id).where(ImportRun.name == name, ImportRun.actor == "demo"))
            if done is not None:
                continue
            intake.import_payload(
                session,
                payload=(DEMO_DIR / name).read_bytes(),
                now=runtime.now(),
                actor="demo",
                name=name,
                bus=runtime.bus,
            )
