"""Durable jobs of the delivery domain (none yet: webhooks and records are stored in the request that
brings them; the Datadog export and GitHub backfill will be periodic jobs here)."""

from __future__ import annotations

from typing import Any

from mamori.core.jobs import JobKind
from mamori.core.runtime import PeriodicSpec

JOBS: list[JobKind[Any]] = []
PERIODIC: list[PeriodicSpec] = []
