"""The issue's configuration examples, verbatim, and helpers to write them into a config directory."""

from __future__ import annotations

from pathlib import Path

ALERT_ROUTE = """\
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: production}
spec:
  groupBy: [alertname, service]
  routes:
    - matchers: ['service=~"jobs-(web|api)"', 'severity="critical"']
      set: {team: backend, severity: SEV2, escalationPolicy: backend}
    - matchers: ['alertname=~"Disk.*"']
      set: {severity: SEV4, escalationPolicy: backend}
  default: {severity: SEV3, escalationPolicy: backend}
"""

SCHEDULE = """\
apiVersion: mamori.dev/v1
kind: Schedule
metadata: {name: backend-primary}
spec:
  timeZone: Europe/Berlin
  layers:
    - name: weekly
      start: 2026-01-05T09:00:00
      rotation: {type: weekly, handoff: "Mon 09:00"}
      users: [alice@example.com, bob@example.com, carol@example.com]
    - name: weekday-days
      start: 2026-01-05T09:00:00
      rotation: {type: daily, handoff: "09:00"}
      restrictions: [{days: [Mon, Tue, Wed, Thu, Fri], from: "09:00", to: "18:00"}]
      users: [dave@example.com, erin@example.com]
  overrides:
    - {user: frank@example.com, from: 2026-03-28T20:00:00, to: 2026-03-30T09:00:00}
"""

POLICY = """\
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: backend}
spec:
  steps:
    - notify: {schedule: backend-primary}
      escalateAfter: 5m
    - notify: {users: [carol@example.com]}
      escalateAfter: 10m
  repeat: 1
"""

INTEGRATION = """\
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: prod-am}
spec: {type: alertmanager, route: production}
"""


def write_config(root: Path, *extra: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "route.yaml").write_text(ALERT_ROUTE)
    (root / "schedule.yaml").write_text(SCHEDULE)
    (root / "policy.yaml").write_text(POLICY)
    (root / "integration.yaml").write_text(INTEGRATION)
    for i, text in enumerate(extra):
        (root / f"extra{i}.yaml").write_text(text)
    return root
