"""Events the delivery domain publishes (subscribers are wired in mamori/wiring.py)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from mamori.core.events import Event


class DeployFinished(Event):
    """A deploy of a service to an environment ended (success or failure), from any source."""

    type: ClassVar[str] = "delivery.deploy_finished"
    deploy_id: str
    service: str
    environment: str
    production: bool
    status: str
    sha: str | None
    version: str | None
    rollback: bool
    at: datetime


class RegressionFound(Event):
    """A build step or test of a service got markedly slower than its recent past (announced once per start)."""

    type: ClassVar[str] = "delivery.regression_found"
    service: str
    key: str
    baseline_seconds: float
    recent_seconds: float
    since: datetime
    since_sha: str | None
