"""Payload models of the flags jobs that use cases enqueue, checked when a job is enqueued and again when it is claimed.

They live apart from `jobs` (which imports the use cases) so that the use cases that enqueue a job
(`ramps`, `notify`) can build its payload without an import cycle.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mamori.core.jobs import Payload


class RampStep(Payload):
    ramp: str
    step: int = Field(ge=0)


class ScheduledChange(Payload):
    environment: str
    flag: str
    action: Literal["enable", "disable", "rollout"]
    percent: int | None = Field(default=None, ge=0, le=100)
    by: str
    reason: str | None = None


class RampHaltedNotice(Payload):
    """Tell a flag's owner that its guarded ramp halted."""

    ramp: str
    environment: str
    flag: str
    service: str | None = None
    team: str | None = None
    action: str
    why: str
