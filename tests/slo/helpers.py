"""Helpers shared by the slo tests: a kind registry without a database, config directories."""

from __future__ import annotations

from pathlib import Path

from mamori.core import catalog
from mamori.core.manifest import KindRegistry
from mamori.slo.kinds import KINDS


def registry() -> KindRegistry:
    reg = KindRegistry()
    for kind in [*catalog.KINDS, *KINDS]:
        reg.register(kind)
    return reg


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


CHECKOUT_SLO = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: apply-for-job
  displayName: Apply for a job
  labels: {user-story: apply-for-job}
  annotations: {mamori.dev/slice-by: route, mamori.dev/min-events: "5"}
spec:
  service: jobs-api
  indicator:
    metadata: {name: apply-availability}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource: {type: mamori, spec: {filter: "status < 500"}}
        total:
          metricSource: {type: mamori, spec: {filter: "route LIKE '/apply%'"}}
  timeWindow:
    - {duration: 30d, isRolling: true}
  budgetingMethod: Occurrences
  objectives:
    - {displayName: available, target: 0.99}
"""
