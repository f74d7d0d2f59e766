"""Tables of the flags domain: the flag set serving per environment, changes (with approvals), ramps, counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, JSONType, UTCDateTime, new_id


class FlagEnvironment(Base):
    """The flag set one environment serves: the flagd document, its version and ETag."""

    __tablename__ = "flag_environments"

    environment: Mapped[str] = mapped_column(String(63), primary_key=True)
    flag_set: Mapped[str] = mapped_column(String(253))
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    fractional: Mapped[str] = mapped_column(String(16), default="cbor")
    service: Mapped[str | None] = mapped_column(String(253), nullable=True)
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    require_reason: Mapped[bool] = mapped_column(Boolean, default=False)
    rate_limit: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    """{"requests": n, "per_seconds": s}: the OFREP limit per SDK key, or None for none."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    etag: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FlagChange(Base):
    """One requested change of one flag: applied at once, or pending a second person's approval."""

    __tablename__ = "flag_changes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    environment: Mapped[str] = mapped_column(String(63), index=True)
    flag_key: Mapped[str] = mapped_column(String(253))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # applied | pending | rejected
    actor: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FlagRamp(Base):
    """A percentage ramp of a boolean flag (5 -> 25 -> 50 -> 100), advanced by durable jobs."""

    __tablename__ = "flag_ramps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    environment: Mapped[str] = mapped_column(String(63), index=True)
    flag_key: Mapped[str] = mapped_column(String(253))
    steps: Mapped[list[int]] = mapped_column(JSONType)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # running | paused | reverted | done | cancelled
    service: Mapped[str | None] = mapped_column(String(253), nullable=True)
    guard: Mapped[str] = mapped_column(String(16), default="pause")  # pause | revert | none
    before: Mapped[dict[str, Any]] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FlagEvaluationCount(Base):
    """Evaluations per environment, flag, variant and day (reported by SDKs and counted by OFREP)."""

    __tablename__ = "flag_evaluation_counts"
    __table_args__ = (UniqueConstraint("environment", "flag_key", "variant", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(63))
    flag_key: Mapped[str] = mapped_column(String(253))
    variant: Mapped[str] = mapped_column(String(253))
    day: Mapped[str] = mapped_column(String(10))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FlagStaleMark(Base):
    """A flag the daily stale scan found stale (unused, or fully on everywhere) and since when."""

    __tablename__ = "flag_stale_marks"

    flag_key: Mapped[str] = mapped_column(String(253), primary_key=True)
    reasons: Mapped[list[str]] = mapped_column(JSONType)
    environments: Mapped[list[str]] = mapped_column(JSONType)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
