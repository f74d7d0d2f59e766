"""The findings domain's tables: one row per real problem, each tool's record of it, its history, scan scopes.

`FindingRow.key` is the identity (see `identity`); `FindingSource` keeps every tool's latest raw record of the
problem under the tool's own id, so three tools reporting one problem are one finding with three sources.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mamori.core.db import Base, JSONType, UTCDateTime, new_id


class FindingRow(Base):
    """One problem, whichever tools report it; its triage decisions survive every re-import."""

    __tablename__ = "findings_queue"
    __table_args__ = (
        Index("ix_findings_queue_status_state", "status", "state"),
        Index("ix_findings_queue_service", "service"),
        Index("ix_findings_queue_account", "account"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500), default="")
    account: Mapped[str] = mapped_column(String(64), default="")
    region: Mapped[str] = mapped_column(String(64), default="")
    resource: Mapped[str] = mapped_column(String(1000), default="")
    resource_type: Mapped[str] = mapped_column(String(200), default="")
    control: Mapped[str] = mapped_column(String(500), default="")
    ecosystem: Mapped[str] = mapped_column(String(50), default="")
    package: Mapped[str] = mapped_column(String(300), default="")
    version: Mapped[str] = mapped_column(String(300), default="")
    advisory: Mapped[str] = mapped_column(String(200), default="")
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    location: Mapped[str] = mapped_column(String(1000), default="")
    paths: Mapped[list[str]] = mapped_column(JSONType, default=list)
    tags: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    service: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tools: Mapped[list[str]] = mapped_column(JSONType, default=list)
    severity: Mapped[str] = mapped_column(String(16), default="MEDIUM")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    epss: Mapped[float | None] = mapped_column(Float, nullable=True)
    kev: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str] = mapped_column(String(4), default="P4")
    priority_reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    """What the tools say: active while any source reports it, resolved when none does."""
    state: Mapped[str] = mapped_column(String(32), default="new")
    """The human triage state (see `states`); no import ever changes it, except reopening a fixed one."""
    justification: Mapped[str | None] = mapped_column(String(64), nullable=True)
    accepted_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(320), nullable=True)
    ticket: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ticket_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    suppressed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The suppression rule (or `securityhub:SUPPRESSED`) that hides the finding from the queue."""
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version_id: Mapped[int] = mapped_column(Integer, default=1)

    sources: Mapped[list[FindingSource]] = relationship(
        back_populates="finding", cascade="all, delete-orphan", order_by="FindingSource.id"
    )

    __mapper_args__ = {"version_id_col": version_id}


class FindingSource(Base):
    """One tool's record of a finding: the tool's own id, what it says now, and its raw record."""

    __tablename__ = "findings_sources"
    __table_args__ = (
        UniqueConstraint("uid_hash", "tool"),  # uid_hash first: imports look sources up by it alone
        Index("ix_findings_sources_scope", "tool", "scope_hash", "status"),
        Index("ix_findings_sources_finding_id", "finding_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings_queue.id", ondelete="CASCADE"))
    tool: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(32))
    uid: Mapped[str] = mapped_column(Text)
    uid_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    workflow: Mapped[str] = mapped_column(String(32), default="")
    severity: Mapped[str] = mapped_column(String(16), default="MEDIUM")
    tool_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    repeat_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    scope_hash: Mapped[str] = mapped_column(String(64), default="")
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the raw record: the same record imported again changes nothing."""
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    import_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    finding: Mapped[FindingRow] = relationship(back_populates="sources")


class FindingHistory(Base):
    """A change of a finding: which fields moved from what to what, when, and who or what moved them."""

    __tablename__ = "findings_history"
    __table_args__ = (Index("ix_findings_history_finding_at", "finding_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings_queue.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    event: Mapped[str] = mapped_column(String(32))
    """created, updated, resolved, reopened, triaged, suppressed, unsuppressed, commented."""
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")

    finding: Mapped[FindingRow] = relationship()


class ScanScope(Base):
    """A scope one tool's scans re-check (account x region x check, repo x manifest) and when it last did."""

    __tablename__ = "findings_scopes"
    __table_args__ = (UniqueConstraint("scope_hash", "tool"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tool: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(Text)
    scope_hash: Mapped[str] = mapped_column(String(64))
    last_checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    import_id: Mapped[str] = mapped_column(String(32))


class ImportRun(Base):
    """One import of one document: where it came from, its counts and the records it rejected."""

    __tablename__ = "findings_imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    format: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(320))
    scan: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    problems: Mapped[list[str]] = mapped_column(JSONType, default=list)
