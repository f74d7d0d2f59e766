"""The vulns domain's tables: inventory, advisory store, enrichment, findings and their comments, feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mamori.core.db import Base, JSONType, UTCDateTime, new_id


class VulnComponent(Base):
    """One package occurrence in one file of one service's repository (the inventory)."""

    __tablename__ = "vuln_components"
    __table_args__ = (
        UniqueConstraint("service", "source_file", "purl"),
        Index("ix_vuln_components_eco_name", "ecosystem", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(200))
    ecosystem: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(300))
    version: Mapped[str] = mapped_column(String(200))
    purl: Mapped[str] = mapped_column(String(600))
    source_file: Mapped[str] = mapped_column(String(1000))
    direct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    dev: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VulnAdvisory(Base):
    """An OSV record as imported (the raw JSON is kept so that matching follows the schema exactly)."""

    __tablename__ = "vuln_advisories"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    severity_label: Mapped[str] = mapped_column(String(16), default="UNKNOWN")
    cvss_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    cvss_vector: Mapped[str | None] = mapped_column(String(300), nullable=True)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    source: Mapped[str] = mapped_column(String(1000), default="")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VulnAdvisoryPackage(Base):
    """Which packages an advisory names: the lookup from the inventory to candidate advisories."""

    __tablename__ = "vuln_advisory_packages"
    __table_args__ = (Index("ix_vuln_advisory_packages_eco_name", "ecosystem", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    advisory_id: Mapped[str] = mapped_column(ForeignKey("vuln_advisories.id", ondelete="CASCADE"))
    ecosystem: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(300))


class VulnEpss(Base):
    __tablename__ = "vuln_epss"

    cve: Mapped[str] = mapped_column(String(40), primary_key=True)
    epss: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VulnKev(Base):
    """An entry of CISA's Known Exploited Vulnerabilities catalog."""

    __tablename__ = "vuln_kev"

    cve: Mapped[str] = mapped_column(String(40), primary_key=True)
    vendor: Mapped[str] = mapped_column(String(300), default="")
    product: Mapped[str] = mapped_column(String(300), default="")
    name: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    date_added: Mapped[str] = mapped_column(String(20), default="")
    ransomware: Mapped[str] = mapped_column(String(20), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VulnSyncState(Base):
    """The last run of one source (an advisory URL or path, EPSS, KEV, a feed): counts and the last error."""

    __tablename__ = "vuln_sync_state"

    name: Mapped[str] = mapped_column(String(1000), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class VulnFinding(Base):
    """Advisory x component x service, or a vendor incident; its triage state survives rescans."""

    __tablename__ = "vuln_findings"
    __table_args__ = (Index("ix_vuln_findings_state", "state"), Index("ix_vuln_findings_service", "service"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(900), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # advisory | vendor
    service: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    advisory_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    ecosystem: Mapped[str | None] = mapped_column(String(50), nullable=True)
    package: Mapped[str | None] = mapped_column(String(300), nullable=True)
    version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    purl: Mapped[str | None] = mapped_column(String(600), nullable=True)
    source_files: Mapped[list[str]] = mapped_column(JSONType, default=list)
    fixed_versions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    direct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    dev: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    vendor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    evidence: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    severity: Mapped[str] = mapped_column(String(16), default="UNKNOWN")
    cvss_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    epss: Mapped[float | None] = mapped_column(Float, nullable=True)
    kev: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str] = mapped_column(String(4), default="P4")
    priority_reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    state: Mapped[str] = mapped_column(String(32), default="new")
    justification: Mapped[str | None] = mapped_column(String(64), nullable=True)
    impact_statement: Mapped[str | None] = mapped_column(Text, nullable=True)
    accepted_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(320), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_set_by_hand: Mapped[bool] = mapped_column(Boolean, default=False)  # then the SLA no longer moves it
    affected_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    reopen_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    closed_by_scan: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    comments: Mapped[list[VulnComment]] = relationship(
        back_populates="finding", cascade="all, delete-orphan", order_by="VulnComment.id"
    )


class VulnComment(Base):
    __tablename__ = "vuln_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("vuln_findings.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)

    finding: Mapped[VulnFinding] = relationship(back_populates="comments")


class VulnFeedItem(Base):
    """One item of a security-news or status feed, kept whether or not it matched a vendor."""

    __tablename__ = "vuln_feed_items"
    __table_args__ = (UniqueConstraint("feed", "guid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed: Mapped[str] = mapped_column(String(200))
    guid: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str] = mapped_column(String(1000), default="")
    link: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    vendors: Mapped[list[str]] = mapped_column(JSONType, default=list)
