"""Events the flags domain publishes (subscribers are wired in mamori/wiring.py)."""

from __future__ import annotations

from typing import ClassVar

from mamori.core.events import Event


class RampHalted(Event):
    """A guarded ramp was paused or its flag reverted; the owner of the service should hear of it."""

    type: ClassVar[str] = "flags.ramp_halted"
    environment: str
    flag_key: str
    service: str | None
    team: str | None
    action: str  # paused | reverted
    why: str
