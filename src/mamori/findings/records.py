"""What every parser produces: one normalised observation per tool record, and the problems of the bad ones.

An `Observation` is a tool's claim about one problem at one moment; the import service merges observations
of the same identity (see `identity`) into one finding, each tool's raw record kept beside it. Parsers never
raise on one bad record: they return a `RecordProblem` naming the record's index and the field, and go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from mamori.core.errors import Problem

Kind = Literal["cloud", "vulnerability", "dependency", "detection"]
KINDS: tuple[Kind, ...] = ("cloud", "vulnerability", "dependency", "detection")
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
Status = Literal["active", "resolved"]


@dataclass
class Observation:
    """One record of one tool, normalised. Identity fields are stable across updates; the rest may change."""

    tool: str
    """The producing product: securityhub, guardduty, config, inspector, access-analyzer, macie, prowler, ..."""
    format: str
    """The document format it came in: asff, ocsf, guardduty-event, config-event, dependabot, snyk, osv, ..."""
    uid: str
    """The tool's own id of the record (ASFF `Id`, OCSF `finding_info.uid`, the alert URL, ...)."""
    kind: Kind
    title: str
    index: int
    """The record's position in its batch (for error messages and stable ordering)."""
    raw: dict[str, Any]
    account: str = ""
    region: str = ""
    resource: str = ""
    resource_type: str = ""
    control: str = ""
    """The check, control or finding type (FSBP `IAM.5`, GuardDuty `Recon:EC2/Portscan`, a CloudTrail rule)."""
    ecosystem: str = ""
    package: str = ""
    version: str = ""
    advisory: str = ""
    aliases: tuple[str, ...] = ()
    location: str = ""
    """Where a package was found: a repository or service, or a cloud resource for image scans."""
    paths: tuple[str, ...] = ()
    """Manifest or file paths inside the location (kept on the finding, not part of its identity)."""
    repository: str = ""
    service: str = ""
    """The owning service when the tool already knows it (Mamori's own OSV scan)."""
    description: str = ""
    severity: str = "MEDIUM"
    score: float | None = None
    """CVSS base score when the tool gives one (0..10)."""
    epss: float | None = None
    kev: bool = False
    confidence: float | None = None
    """Detector confidence when the tool gives one (GuardDuty severity 0..10 is carried in `score`)."""
    status: Status = "active"
    workflow: str = ""
    """The tool's own workflow state (Security Hub NEW/NOTIFIED/SUPPRESSED/RESOLVED, OCSF status name)."""
    updated_at: datetime | None = None
    repeat_count: int | None = None
    sample: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    scope: str = ""
    """What a scan that produced this record re-checked (account x region x check, or repo x manifest)."""
    url: str = ""
    internet_facing: bool | None = None
    revision: str = ""
    """A short token that changes whenever the tool changes the record (set by parsers whose format has one:
    ASFF's UpdatedAt and status fields); the import compares it instead of a digest of the whole record."""

    def ref(self) -> str:
        return f"record {self.index} ({self.tool} {self.uid})"


@dataclass(frozen=True)
class RecordProblem:
    """A record that could not be read: its index in the batch, the field path and what was wrong."""

    index: int
    loc: str
    msg: str

    def problem(self, *, file: str | None = None) -> Problem:
        return Problem(loc=self.loc, msg=self.msg, file=file, document=f"record {self.index}")

    def render(self) -> str:
        return f"record {self.index}: {self.loc}: {self.msg}"


@dataclass
class Batch:
    """A parsed document: good observations, problems of the bad records, and the scopes a scan re-checked.

    `scan` is true when the document is a complete run over its scopes (a Prowler run, `snyk test`): then an
    active record of the same tool and scope that the run no longer reports is closed. A feed of updates
    (Security Hub exports, webhooks, EventBridge) closes nothing by absence."""

    format: str
    observations: list[Observation] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    scopes: set[str] = field(default_factory=set)
    scan: bool = False
    skipped: list[str] = field(default_factory=list)
    """Records deliberately kept out (sample findings, passing checks of a scan), with the reason."""
    total: int = 0
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    """(tool, uid) of records a pre-check found stored with the same revision: not parsed, not changed."""


Known = Callable[[str, str, str, str], bool]
"""(tool, uid, revision, status) -> whether the store already holds exactly this record."""


def severity_from_score(score: float | None) -> str:
    """The usual bands of a 0..10 score (CVSS, GuardDuty severity): 9+ critical, 7+ high, 4+ medium, >0 low."""
    if score is None:
        return "MEDIUM"
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0:
        return "LOW"
    return "INFORMATIONAL"


def normalise_severity(label: object) -> str | None:
    """A tool's severity word as one of SEVERITIES (None when it is not one we know)."""
    if not isinstance(label, str):
        return None
    word = label.strip().upper()
    aliases = {"INFO": "INFORMATIONAL", "INFORMATION": "INFORMATIONAL", "MODERATE": "MEDIUM", "FATAL": "CRITICAL"}
    word = aliases.get(word, word)
    return word if word in SEVERITIES else None
