"""Rows of every domain whose figures `/metrics` serves: one real series each, plus drills that must not count."""

from __future__ import annotations

from datetime import timedelta

from mamori.core.runtime import Runtime
from mamori.delivery.models import DeliveryDeploy
from mamori.findings.models import FindingRow
from mamori.incidents.models import Alert, AlertGroup, Notification
from mamori.slo.models import SloAlert, SloStatus
from mamori.vulns.models import VulnFinding
from tests.conftest import T0


def seed_all(runtime: Runtime) -> None:
    with runtime.sessions.begin() as s:
        s.add(
            SloStatus(
                series="checkout-availability#0", slo="checkout-availability", objective=0, service="shop",
                user_story='pay "now"', target=0.999, sli=0.9985, good=9985, total=10000, consumed=1.5,
                remaining=-0.5, result={"burn_rates": {"1h": 14.4, "6h": 6.0}}, evaluated_at=T0 - timedelta(minutes=1),
            )
        )  # fmt: skip
        s.add(
            SloAlert(
                series="checkout-availability#0", slo="checkout-availability", objective=0, service="shop",
                severity="page", long_window="1h", short_window="5m", threshold=14.4, burn_rate=15.0,
                status="firing", started_at=T0 - timedelta(minutes=10),
            )
        )  # fmt: skip
        for i, drill in enumerate((False, True)):
            opened = T0 - timedelta(days=2, hours=i)
            group = AlertGroup(
                group_key=f"g{i}", integration="am", status="resolved", title="t", service="shop", severity="critical",
                opened_at=opened, acknowledged_at=opened + timedelta(minutes=4 + 100 * i),
                resolved_at=opened + timedelta(minutes=30 + 100 * i),
            )  # fmt: skip
            s.add(group)
            s.flush()
            s.add(
                Alert(
                    integration="am", source="alertmanager", dedup_key=f"d{i}", fingerprint=f"f{i}", status="resolved",
                    title="t", severity="critical", group_id=group.id, first_seen_at=opened, last_seen_at=opened,
                    labels={"mamori_drill": "dr-1"} if drill else {"alertname": "High"},
                )
            )  # fmt: skip
            s.add(
                Notification(
                    group_id=group.id, user_email="bob@example.com", channel="email", target="bob@example.com",
                    status="sent", created_at=opened + timedelta(minutes=1),
                )
            )  # fmt: skip
        for i, due in enumerate((T0 - timedelta(days=1), T0 + timedelta(days=5))):
            s.add(
                VulnFinding(
                    key=f"v{i}", kind="advisory", service="shop", team="payments", priority="P1", state="new",
                    due_at=due, first_seen_at=T0 - timedelta(days=20), last_seen_at=T0, state_changed_at=T0,
                )
            )  # fmt: skip
            s.add(
                FindingRow(
                    key_hash=f"h{i}", key=f"k{i}", kind="cloud", service="shop", team="payments", priority="P2",
                    due_at=due, first_seen_at=T0 - timedelta(days=20), last_seen_at=T0, state_changed_at=T0,
                )
            )  # fmt: skip
        for i in range(3):
            at = T0 - timedelta(days=i + 1)
            s.add(
                DeliveryDeploy(
                    source="api", external_id=f"d{i}", service="shop", environment="production", production=True,
                    status="success", sha=f"s{i}", created_at=at, finished_at=at,
                )
            )  # fmt: skip
