"""Tables of the slo domain: applied OpenSLO documents, per-minute SLI buckets, alert and policy state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, JSONType, UTCDateTime


class SloDocument(Base):
    """An applied OpenSLO (or ErrorBudgetPolicy) document with its metadata (config_objects keeps only spec)."""

    __tablename__ = "slo_documents"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    doc_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SloBucket(Base):
    """Good and total events of one SLI series (and slice) in one minute (`minute` = epoch minutes, UTC)."""

    __tablename__ = "slo_buckets"

    series: Mapped[str] = mapped_column(String(300), primary_key=True)
    slice: Mapped[str] = mapped_column(String(200), primary_key=True, default="")
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    good: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class SloTotal(Base):
    """Good and total of one SLI series (all slices) per minute, hour and day, so that a 28-day window is a few
    dozen rows: `level` 0 = minute, 1 = hour, 2 = day (UTC); `start` = the period's first epoch minute.

    The primary key leads with (level, start) so that one time range of every series is one index range."""

    __tablename__ = "slo_totals"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the key: a range is read in order

    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    series: Mapped[str] = mapped_column(String(300), primary_key=True)
    good: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class SloStatus(Base):
    """The latest evaluation of one objective."""

    __tablename__ = "slo_status"

    series: Mapped[str] = mapped_column(String(300), primary_key=True)
    slo: Mapped[str] = mapped_column(String(200))
    objective: Mapped[int] = mapped_column(Integer)
    service: Mapped[str] = mapped_column(String(200))
    user_story: Mapped[str] = mapped_column(String(300))
    target: Mapped[float] = mapped_column(Float)
    sli: Mapped[float | None] = mapped_column(Float)
    good: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    consumed: Mapped[float] = mapped_column(Float, default=0.0)
    remaining: Mapped[float] = mapped_column(Float, default=1.0)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SloAlert(Base):
    """One burn-alert episode: firing from `started_at` until `resolved_at`."""

    __tablename__ = "slo_alerts"
    __table_args__ = (Index("ix_slo_alerts_series_status", "series", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    series: Mapped[str] = mapped_column(String(300))
    slo: Mapped[str] = mapped_column(String(200))
    objective: Mapped[int] = mapped_column(Integer)
    service: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    long_window: Mapped[str] = mapped_column(String(16))
    short_window: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float] = mapped_column(Float)
    burn_rate: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SloPolicyEpisode(Base):
    """One episode of an ErrorBudgetPolicy rule holding for one objective: actions run once per episode."""

    __tablename__ = "slo_policy_episodes"
    __table_args__ = (Index("ix_slo_policy_episodes_key_status", "policy", "rule", "series", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(200))
    series: Mapped[str] = mapped_column(String(300))
    slo: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # active | cleared
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SloPolicyAction(Base):
    """One action of one episode, run as a durable job; its outcome (ticket key, URL) or last error."""

    __tablename__ = "slo_policy_actions"
    __table_args__ = (UniqueConstraint("episode_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    episode_id: Mapped[int] = mapped_column(Integer, index=True)
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending | done | failed
    outcome: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SloFreeze(Base):
    """A release freeze of a service, from an error-budget policy episode."""

    __tablename__ = "slo_freezes"
    __table_args__ = (Index("ix_slo_freezes_service_active", "service", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(200))
    episode_id: Mapped[int] = mapped_column(Integer, unique=True)
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    """Who lifted the freeze before its episode cleared (None: it ended with its episode, or still holds)."""
    lift_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SloFreezeBypass(Base):
    """A person lets deploys through one freeze until `expires_at`, for `max_deploys` deploys (None: any number)
    with a reason ("hotfix for INC-12"); each deploy-gate answer that passes thanks to it counts one use."""

    __tablename__ = "slo_freeze_bypasses"
    __table_args__ = (Index("ix_slo_freeze_bypasses_freeze", "freeze_id", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    freeze_id: Mapped[int] = mapped_column(Integer)
    service: Mapped[str] = mapped_column(String(200))
    granted_by: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_deploys: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deploys: Mapped[int] = mapped_column(Integer, default=0)
