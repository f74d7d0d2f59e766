"""The sast domain's tables: scans (tool x repo x commit x category), findings with their identity, the
sources (one per tool that reports a finding), each scan's results, and the triage log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, JSONType, UTCDateTime, new_id


class SastScan(Base):
    """One upload of one tool's results for one commit of one repository (and one category)."""

    __tablename__ = "sast_scans"
    __table_args__ = (Index("ix_sast_scans_repo_commit", "repo", "commit"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    repo: Mapped[str] = mapped_column(String(300))
    tool: Mapped[str] = mapped_column(String(100))
    tool_version: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(200), default="")
    commit: Mapped[str] = mapped_column(String(64))
    branch: Mapped[str | None] = mapped_column(String(300), nullable=True)
    pr: Mapped[int | None] = mapped_column(Integer, nullable=True)
    format: Mapped[str] = mapped_column(String(32), default="sarif")
    scanned_paths: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    """None: the whole repository; else only these files or folders (a partial scan)"""
    source_name: Mapped[str] = mapped_column(String(1000), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[str] = mapped_column(String(320), default="")
    result_count: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)


class SastFinding(Base):
    """One weakness at one place of one repository, whichever tools report it; triage lives here."""

    __tablename__ = "sast_findings"
    __table_args__ = (Index("ix_sast_findings_repo_open", "repo", "open"), Index("ix_sast_findings_state", "state"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    repo: Mapped[str] = mapped_column(String(300))
    service: Mapped[str | None] = mapped_column(String(200), nullable=True)
    title: Mapped[str] = mapped_column(String(1000), default="")
    rule: Mapped[str] = mapped_column(String(500))
    cwe: Mapped[str | None] = mapped_column(String(20), nullable=True)
    owasp: Mapped[str | None] = mapped_column(String(100), nullable=True)
    path: Mapped[str] = mapped_column(String(1000))
    line: Mapped[int] = mapped_column(Integer, default=0)
    line_hash: Mapped[str] = mapped_column(String(100), default="")
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    """Reported by at least one tool in its latest scan of this place"""
    state: Mapped[str] = mapped_column(String(32), default="new")
    """new | confirmed | false_positive | wont_fix | accepted_risk | fixed"""
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    accepted_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    triaged_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    suppression: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_commit: Mapped[str] = mapped_column(String(64), default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped on every triage change: a triage that names an older version is refused"""


class SastSource(Base):
    """One tool's report of a finding: its rule, its fingerprints (all versions) and where it saw it last."""

    __tablename__ = "sast_sources"
    __table_args__ = (Index("ix_sast_sources_repo_tool", "repo", "tool", "category"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    finding_id: Mapped[str] = mapped_column(ForeignKey("sast_findings.id", ondelete="CASCADE"), index=True)
    repo: Mapped[str] = mapped_column(String(300))
    tool: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(200), default="")
    rule_id: Mapped[str] = mapped_column(String(500))
    rule_key: Mapped[str] = mapped_column(String(600))
    path: Mapped[str] = mapped_column(String(1000))
    line: Mapped[int] = mapped_column(Integer, default=0)
    line_hash: Mapped[str] = mapped_column(String(100), default="")
    text_hash: Mapped[str] = mapped_column(String(40), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    confidence: Mapped[str] = mapped_column(String(16), default="")
    cwes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    fingerprints: Mapped[list[str]] = mapped_column(JSONType, default=list)
    tool_fingerprints: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    snippet: Mapped[str] = mapped_column(Text, default="")
    context: Mapped[str] = mapped_column(Text, default="")
    context_start: Mapped[int] = mapped_column(Integer, default=0)
    suppression: Mapped[str | None] = mapped_column(String(200), nullable=True)
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    first_scan_id: Mapped[str] = mapped_column(String(32))
    last_scan_id: Mapped[str] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SastScanResult(Base):
    """What one scan said of one finding: its status against the previous scans and where it was."""

    __tablename__ = "sast_scan_results"
    __table_args__ = (UniqueConstraint("scan_id", "source_id"), Index("ix_sast_scan_results_finding", "finding_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("sast_scans.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("sast_findings.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(ForeignKey("sast_sources.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    """new | unchanged | moved | reopened | fixed"""
    path: Mapped[str] = mapped_column(String(1000))
    line: Mapped[int] = mapped_column(Integer, default=0)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)


class SastTriage(Base):
    """Every triage decision on a finding, in order (the finding keeps the latest)."""

    __tablename__ = "sast_triage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("sast_findings.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(320))
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    accepted_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tools: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """The tools reporting the finding at the time (a false positive counts against each)"""
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class SastScorecard(Base):
    """One scoring of one tool against one labelled suite (kept, so that the trend over time shows)."""

    __tablename__ = "sast_scorecards"
    __table_args__ = (Index("ix_sast_scorecards_tool_at", "tool", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tool: Mapped[str] = mapped_column(String(100))
    suite: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    overall: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    categories: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class SastPentestFinding(Base):
    """A vulnerability a penetration test confirmed, imported to ask which tool would have caught it."""

    __tablename__ = "sast_pentest_findings"
    __table_args__ = (UniqueConstraint("repo", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(64))
    """A digest of title, CWE and place: importing the same report twice adds nothing"""
    title: Mapped[str] = mapped_column(String(1000))
    cwe: Mapped[str | None] = mapped_column(String(20), nullable=True)
    path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    endpoint: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_name: Mapped[str] = mapped_column(String(1000), default="")
