"""The gamedays domain's tables: drills (one run of a scenario), their injects, their timeline and their scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, JSONType, UTCDateTime, new_id


class Drill(Base):
    """One run of a GameDay scenario. The scenario is copied in when the drill is created, so a later edit of
    the document does not change what this drill was scored against (re-scoring passes a scenario explicitly)."""

    __tablename__ = "gameday_drills"
    __table_args__ = (Index("ix_gameday_drills_status", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    scenario: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))
    """scheduled | running | finished | aborted"""
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    abort_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    """The debrief's notes (Markdown)."""
    action_items: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped by every change of the row; edits of notes check it (optimistic locking)."""


class DrillInject(Base):
    """One scripted inject of a drill and whether it has fired (each fires once, by its durable job)."""

    __tablename__ = "gameday_injects"
    __table_args__ = (UniqueConstraint("drill_id", "inject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drill_id: Mapped[str] = mapped_column(ForeignKey("gameday_drills.id", ondelete="CASCADE"))
    inject_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    """pending | fired | cancelled"""
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DrillEntry(Base):
    """One line of a drill's timeline: an inject firing, a page, an ack, a declaration, a role, an update, a
    recorded action. Scoring reads these and nothing else, so a drill can be scored again later."""

    __tablename__ = "gameday_entries"
    __table_args__ = (Index("ix_gameday_entries_drill_at", "drill_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drill_id: Mapped[str] = mapped_column(ForeignKey("gameday_drills.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    text: Mapped[str] = mapped_column(String(1000))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True, nullable=True)


class DrillScore(Base):
    """The latest score of a drill, per expectation, as the pure scoring module gave it (with its evidence)."""

    __tablename__ = "gameday_scores"
    __table_args__ = (UniqueConstraint("drill_id", "expectation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    drill_id: Mapped[str] = mapped_column(ForeignKey("gameday_drills.id", ondelete="CASCADE"))
    expectation_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    """met | late | partial | missed | pending"""
    points: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
