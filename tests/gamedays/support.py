"""Shared set-up for the gamedays tests: people, a drill-only paging route and integration, one scenario."""

from __future__ import annotations

from pathlib import Path

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from tests.incidents.fakes import RecordingNotifier, install_fakes

USER = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: %(name)s}
spec:
  email: %(name)s@example.com
  name: %(name)s
  role: responder
  contacts:
    - {type: email, address: %(name)s@example.com}
"""
PAGING = """\
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: drill}
spec:
  steps:
    - notify: {users: [bob@example.com]}
      escalateAfter: 5m
---
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: everyone}
spec:
  steps:
    - notify: {users: [carol@example.com]}
      escalateAfter: 5m
---
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: drills}
spec:
  groupBy: [alertname, mamori_drill]
  default: {team: backend, severity: SEV2, escalationPolicy: drill}
---
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: production}
spec:
  groupBy: [alertname]
  default: {team: backend, severity: SEV1, escalationPolicy: everyone}
---
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: drills}
spec: {type: alertmanager, route: drills}
---
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: prod}
spec: {type: alertmanager, route: production}
"""
SCENARIO = """\
apiVersion: mamori.dev/v1
kind: GameDay
metadata: {name: checkout}
spec:
  title: Checkout down after a deploy
  kind: outage
  services: [checkout]
  participants:
    - {user: alice@example.com, role: game-master}
    - {user: bob@example.com}
  schedule: {duration: 1h}
  injects:
    - id: page
      at: 1m
      alert:
        integration: drills
        title: Checkout 5xx
        labels: {alertname: CheckoutErrors, service: checkout}
    - {id: hint, clue: {text: the deploy at 10:00 shipped the new flag}}
    - {id: later, at: 30m, alert: {integration: drills, title: Payments slow, labels: {alertname: PaymentsSlow}}}
  expectations:
    - {id: ack, after: page, acknowledge: {within: 5m}}
    - {id: declare, after: page, declare: {severity: SEV2, within: 10m}}
    - {id: ic, after: page, assignRole: {role: commander, within: 10m}}
    - {id: kill, after: page, killSwitch: {flag: checkout-v2, within: 20m}}
"""


def apply(runtime: Runtime, root: Path, scenario: str = SCENARIO) -> dict[str, RecordingNotifier]:
    """Apply the people, the paging set-up and the scenario; returns the recording notifiers."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "users.yaml").write_text("---\n".join(USER % {"name": n} for n in ("alice", "bob", "carol")))
    (root / "paging.yaml").write_text(PAGING)
    (root / "scenario.yaml").write_text(scenario)
    manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=Actor(name="test", source="config"))
    return install_fakes(runtime)
