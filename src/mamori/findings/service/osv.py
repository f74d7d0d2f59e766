"""Mamori's own OSV scan in the queue: a dependency finding of the vulns domain becomes (or updates) a source
of tool `osv` on the finding of the same package x advisory x location, one per file it was found in.
The wiring turns the vulns domain's events into an `OsvFinding` and calls `record`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from mamori.core.events import EventBus
from mamori.findings.identity import canonical_advisory
from mamori.findings.records import Batch, Observation, normalise_severity
from mamori.findings.service.imports import ImportReport, import_batch

TOOL = "osv"


@dataclass(frozen=True)
class OsvFinding:
    """What the vulns domain publishes about one dependency finding, as this domain needs it."""

    finding_id: str
    service: str | None
    ecosystem: str
    package: str
    version: str
    advisory: str
    severity: str
    priority: str
    at: datetime
    kev: bool = False
    epss: float | None = None
    aliases: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    state: str = "new"
    resolved: bool = False
    raw: dict[str, object] = field(default_factory=dict)


def path_in_repository(service: str | None, path: str) -> str:
    """The vulns inventory names files relative to the scanned root, one top-level folder per repository
    (`jobs-web/package-lock.json`); Dependabot and snyk name them relative to the repository's root. The
    folder is dropped when it is the service's name (the inventory's default layout)."""
    head, _, rest = path.partition("/")
    return rest if service and head == service and rest else path


def observations(f: OsvFinding) -> list[Observation]:
    ids = [f.advisory, *f.aliases]
    advisory = canonical_advisory(ids)
    active = not f.resolved and f.state != "fixed"
    out = []
    for index, found in enumerate(f.locations or ("",)):
        owner = f.service or "unknown"
        path = path_in_repository(f.service, found)
        out.append(
            Observation(
                tool=TOOL,
                format=TOOL,
                uid=f"{f.finding_id}|{found}",
                kind="dependency",
                title=f"{advisory} in {f.package} {f.version}",
                index=index,
                raw={**f.raw, "path": path},
                ecosystem=f.ecosystem,
                package=f.package,
                version=f.version,
                advisory=advisory,
                aliases=tuple(sorted(set(filter(None, ids)))),
                location=f"{owner}:{path}",
                paths=(path,) if path else (),
                service=f.service or "",
                severity=normalise_severity(f.severity) or "MEDIUM",
                kev=f.kev,
                epss=f.epss,
                status="active" if active else "resolved",
                workflow=f.state.upper(),
                updated_at=f.at,
                scope=f"{TOOL}|{owner}|{path}",
            )
        )
    return out


def record(session: Session, *, finding: OsvFinding, now: datetime, bus: EventBus | None = None) -> ImportReport:
    """Upsert the OSV finding's sources in the caller's transaction (the event's delivery job)."""
    batch = Batch(format=TOOL, observations=observations(finding), total=len(finding.locations or ("",)))
    return import_batch(
        session, batch=batch, now=now, actor="vulns", name=f"vulns finding {finding.finding_id}", bus=bus
    )
