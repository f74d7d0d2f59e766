"""The service catalog's "Flags" column: flag sets guarded by a service and its ramps in progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.runtime import ReliabilitySignal
from mamori.flags.models import FlagEnvironment, FlagRamp


def render(session: Session, service_names: list[str], _now: datetime) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    for row in session.scalars(
        select(FlagEnvironment).where(FlagEnvironment.service.in_(service_names)).order_by(FlagEnvironment.environment)
    ):
        if row.service is not None:
            out.setdefault(row.service, []).append(f"{row.environment}: {len(row.document.get('flags', {}))} flags")
    ramps = session.scalars(
        select(FlagRamp).where(FlagRamp.service.in_(service_names), FlagRamp.status.in_(("running", "paused")))
    )
    for ramp in ramps:
        if ramp.service is not None:
            out.setdefault(ramp.service, []).append(f"{ramp.flag_key} {ramp.steps[ramp.step_index]}% ({ramp.status})")
    return {name: " · ".join(parts) for name, parts in out.items()}


def reliability(session: Session, service_names: list[str], _now: datetime) -> dict[str, list[ReliabilitySignal]]:
    """Testing and release procedures: the service's releases are behind feature flags (a flag set it guards)."""
    sets: dict[str, list[str]] = {}
    for row in session.scalars(select(FlagEnvironment).where(FlagEnvironment.service.in_(service_names))):
        if row.service is not None and row.document.get("flags"):
            sets.setdefault(row.service, []).append(row.environment)
    return {
        name: [
            ReliabilitySignal(
                "testing_release",
                "releases behind feature flags",
                name in sets,
                f"flag sets in {', '.join(sorted(sets[name]))}" if name in sets else "no flag set names this service",
            )
        ]
        for name in service_names
    }
