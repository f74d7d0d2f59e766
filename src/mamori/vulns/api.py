"""HTTP API of the vulns domain: findings and triage, exposure, SLA breaches, VEX, advisories, inventory."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from mamori.core.errors import InvalidInput, NotFound
from mamori.vulns import store
from mamori.vulns.components import Component
from mamori.vulns.lockfiles.sbom import to_cyclonedx
from mamori.vulns.models import VulnAdvisory, VulnFinding
from mamori.vulns.schemas import (
    AdvisoryOut,
    CommentIn,
    CommentOut,
    ComponentOut,
    ExposureOut,
    FindingOut,
    RescanOut,
    TriageIn,
    VexImportOut,
    finding_out,
)
from mamori.vulns.service import findings, queries
from mamori.vulns.service import vex as vex_service
from mamori.web.deps import Reader, RuntimeDep, SessionDep, Writer

router = APIRouter(prefix="/vulns", tags=["vulns"])
MAX_VEX_BYTES = 20 * 1024 * 1024


@router.get("/findings", response_model=list[FindingOut], response_model_exclude_unset=True)
def list_findings(  # noqa: PLR0917 - FastAPI passes query parameters by name
    _: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    state: Annotated[list[str] | None, Query(description="open, new, under_investigation, ...")] = None,
    service: str | None = None,
    priority: str | None = None,
    kind: str | None = None,
    package: str | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    rows = queries.list_findings(
        session,
        state=state,
        service=service,
        priority=priority,
        kind=kind,
        package=package,
        overdue_at=runtime.now() if overdue else None,
        limit=limit,
    )
    return [finding_out(f) for f in rows]


@router.get("/findings/{finding_id}", response_model=FindingOut, response_model_exclude_unset=True)
def get_finding(finding_id: str, _: Reader, session: SessionDep) -> dict[str, Any]:
    return finding_out(queries.get_finding(session, finding_id), with_comments=True)


@router.post("/findings/{finding_id}/triage", response_model=FindingOut, response_model_exclude_unset=True)
def triage(
    finding_id: str, body: TriageIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Change the state (not_affected needs a justification, risk_accepted an expiry), assignee, due date."""
    f = findings.triage(
        session,
        finding_id=finding_id,
        actor=principal.actor(),
        now=runtime.now(),
        state=body.state,
        justification=body.justification,
        impact_statement=body.impact_statement,
        accepted_until=body.accepted_until,
        assignee=body.assignee,
        due=body.due_at,
        comment=body.comment,
        bus=runtime.bus,
    )
    out = finding_out(f, with_comments=True)
    session.commit()
    return out


@router.post("/findings/{finding_id}/comments", status_code=201, response_model=CommentOut)
def comment(
    finding_id: str, body: CommentIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    c = findings.add_comment(session, finding_id=finding_id, actor=principal.actor(), now=runtime.now(), body=body.body)
    out = {"at": c.at.isoformat(), "author": c.author, "body": c.body}
    session.commit()
    return out


@router.get("/exposure", response_model=ExposureOut)
def exposure(_: Reader, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Open findings by priority, age and service; SLA breaches; accepted risks."""
    return queries.exposure(session, now=runtime.now())


@router.get("/sla-breaches", response_model=list[FindingOut], response_model_exclude_unset=True)
def sla_breaches(_: Reader, session: SessionDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [finding_out(f) for f in queries.sla_breaches(session, now=runtime.now())]


@router.get(
    "/vex",
    response_model=dict[str, Any],
    responses={200: {"description": "an OpenVEX 0.2.0 or CycloneDX 1.5 VEX document"}},
)
def export_vex(
    principal: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    format: str = "openvex",
    service: str | None = None,
) -> dict[str, Any]:
    return vex_service.export(session, fmt=format, now=runtime.now(), author=principal.name, service=service)


@router.post("/vex", response_model=VexImportOut)
async def import_vex(
    request: Request, principal: Writer, session: SessionDep, runtime: RuntimeDep, service: str | None = None
) -> dict[str, Any]:
    """Apply an OpenVEX or CycloneDX VEX document to matching findings (all statements checked first)."""
    raw = await request.body()
    if len(raw) > MAX_VEX_BYTES:
        raise InvalidInput(f"VEX document larger than {MAX_VEX_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"VEX document is not valid JSON ({exc})") from None

    def store() -> dict[str, Any]:  # the database is blocking: run in the threadpool, off the event loop
        report = vex_service.import_document(
            session, document=document, actor=principal.actor(), now=runtime.now(), service=service, bus=runtime.bus
        )
        session.commit()
        return report

    return await run_in_threadpool(store)


@router.get("/advisories/{advisory_id}", response_model=AdvisoryOut, response_model_exclude_unset=True)
def get_advisory(advisory_id: str, _: Reader, session: SessionDep) -> dict[str, Any]:
    adv = session.get(VulnAdvisory, advisory_id)
    if adv is None:
        raise NotFound(f"no advisory {advisory_id!r} in the store")
    cves = [a for a in [adv.id, *adv.aliases] if a.startswith("CVE-")]
    kev = sorted(store.kev_for(session, cves))
    return {
        "id": adv.id,
        "aliases": adv.aliases,
        "summary": adv.summary,
        "modified": adv.modified.isoformat(),
        "severity": adv.severity_label,
        "cvss_score": adv.cvss_score,
        "cvss_vector": adv.cvss_vector,
        "epss": store.epss_for(session, cves),
        "kev": kev,
        "record": adv.raw,
        "findings": [
            finding_out(f) for f in session.scalars(select(VulnFinding).where(VulnFinding.advisory_id == adv.id))
        ],
    }


@router.get("/components", response_model=list[ComponentOut])
def list_components(_: Reader, session: SessionDep, service: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "service": c.service,
            "ecosystem": c.ecosystem,
            "name": c.name,
            "version": c.version,
            "purl": c.purl,
            "source_file": c.source_file,
            "direct": c.direct,
            "dev": c.dev,
        }
        for c in store.list_components(session, service=service)
    ]


@router.get("/sbom", response_model=dict[str, Any], responses={200: {"description": "a CycloneDX 1.5 SBOM"}})
def sbom(_: Reader, session: SessionDep, service: str | None = None) -> dict[str, Any]:
    """The inventory (optionally of one service) as a CycloneDX 1.5 SBOM."""
    components = [
        Component(c.ecosystem, c.name, c.version, c.source_file, c.direct, c.dev)
        for c in store.list_components(session, service=service)
    ]
    return to_cyclonedx(components)


@router.post("/rescan", response_model=RescanOut)
def rescan(_: Writer, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    result = findings.rescan(session, now=runtime.now(), bus=runtime.bus)
    session.commit()
    return result.as_dict()
