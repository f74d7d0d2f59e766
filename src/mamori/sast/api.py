"""HTTP API of the sast domain: scans, findings and triage (upload and gate come with the service)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from mamori.sast.models import SastFinding
from mamori.sast.schemas import FindingOut
from mamori.sast.service import queries
from mamori.web.deps import Reader, SessionDep

router = APIRouter(prefix="/sast", tags=["sast"])


@router.get("/findings", response_model=list[FindingOut])
def list_findings(_: Reader, session: SessionDep, repo: str | None = None) -> list[FindingOut]:
    stmt = select(SastFinding).order_by(SastFinding.repo, SastFinding.path, SastFinding.line)
    if repo:
        stmt = stmt.where(SastFinding.repo == repo)
    rows = list(session.scalars(stmt.limit(5000)))
    tools = queries.tools_by_finding(session, [f.id for f in rows])
    return [FindingOut.of(f, tools.get(f.id, [])) for f in rows]
