"""The incidents domain's tables: raw intake, alerts and groups, pages, silences, incidents, postmortems."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, JSONType, UTCDateTime, new_id


class Intake(Base):
    """Every payload a webhook accepted (or refused as malformed), kept raw so it can be replayed."""

    __tablename__ = "incident_intake"
    __table_args__ = (Index("ix_incident_intake_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    integration: Mapped[str] = mapped_column(String(253))
    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_type: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # accepted | processed | rejected
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertGroup(Base):
    """Alerts sharing a group key while open; the unit that pages, is acknowledged and resolved."""

    __tablename__ = "incident_alert_groups"
    __table_args__ = (Index("ix_incident_alert_groups_key_status", "group_key", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    group_key: Mapped[str] = mapped_column(String(1000))
    integration: Mapped[str] = mapped_column(String(253))
    status: Mapped[str] = mapped_column(String(16))  # triggered | acknowledged | resolved
    title: Mapped[str] = mapped_column(String(500))
    service: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    escalation_policy: Mapped[str | None] = mapped_column(String(253))
    policy_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    step: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_job_id: Mapped[int | None] = mapped_column(Integer)
    escalation_done: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_id: Mapped[str | None] = mapped_column(String(32))


class Alert(Base):
    __tablename__ = "incident_alerts"
    __table_args__ = (UniqueConstraint("integration", "dedup_key", "route_slot"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    integration: Mapped[str] = mapped_column(String(253))
    source: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(300))
    route_slot: Mapped[int] = mapped_column(Integer, default=-1)
    fingerprint: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    title: Mapped[str] = mapped_column(String(500))
    labels: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    service: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str | None] = mapped_column(ForeignKey("incident_alert_groups.id", ondelete="SET NULL"))
    suppressed_by: Mapped[str | None] = mapped_column(String(200))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    generator_url: Mapped[str | None] = mapped_column(String(2000))
    """Where the source says the alert comes from (Alertmanager's generatorURL), as sent: checked on render."""


class Notification(Base):
    """One page to one person through one contact method, with its send attempts."""

    __tablename__ = "incident_notifications"
    __table_args__ = (Index("ix_incident_notifications_group", "group_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    group_id: Mapped[str | None] = mapped_column(String(32))
    incident_id: Mapped[str | None] = mapped_column(String(32))
    user_email: Mapped[str | None] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(1000))
    step: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_ref: Mapped[str | None] = mapped_column(String(300))
    """The sent message's id where the channel has one (Slack `channel:ts`), to update it later."""

    @property
    def idempotency_key(self) -> str:
        """The name of this delivery on every channel, the same on each attempt (a retry after a crash sends the
        same email Message-ID, webhook `Idempotency-Key` and Slack metadata). It is made of the notification's
        id alone, so it is recorded (the row commits with the escalation step) before the first send; `v1`
        versions the form, which must keep matching messages already sent if it ever changes."""
        return f"mamori.page.v1.{self.id}"


class NotificationAttempt(Base):
    __tablename__ = "incident_notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("incident_notifications.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")


class Silence(Base):
    __tablename__ = "incident_silences"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    matchers: Mapped[list[str]] = mapped_column(JSONType)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MaintenanceWindow(Base):
    __tablename__ = "incident_maintenance_windows"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    services: Mapped[list[str]] = mapped_column(JSONType)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Incident(Base):
    __tablename__ = "incident_incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(500))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # investigating | identified | monitoring | resolved
    service: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    roles: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    group_id: Mapped[str | None] = mapped_column(String(32))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)
    declared_by: Mapped[str] = mapped_column(String(320))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_update_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    postmortem_required: Mapped[bool] = mapped_column(Boolean, default=False)


class IncidentEntry(Base):
    """The incident's own timeline: declared, status changes, roles, updates, notes, pages, acks."""

    __tablename__ = "incident_timeline"
    __table_args__ = (Index("ix_incident_timeline_incident_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incident_incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Postmortem(Base):
    __tablename__ = "incident_postmortems"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incident_incidents.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # draft | in_review | published
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActionItem(Base):
    __tablename__ = "incident_action_items"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incident_incidents.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    owner: Mapped[str | None] = mapped_column(String(320))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    external_ref: Mapped[str | None] = mapped_column(String(500))
    """The filed issue: a Jira key (OPS-12) or owner/repo#number."""
    external_url: Mapped[str | None] = mapped_column(String(1000))
    tracker: Mapped[str | None] = mapped_column(String(16))  # jira | github
    tracker_target: Mapped[str | None] = mapped_column(String(300))  # Jira project key or owner/repo
    filing_status: Mapped[str | None] = mapped_column(String(16))  # pending | filed | failed
    filing_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
