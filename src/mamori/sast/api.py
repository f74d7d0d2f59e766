"""HTTP API of the sast domain: upload scans, list scans and findings, a finding's history, triage, gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from mamori.core.errors import PayloadTooLarge
from mamori.core.runtime import Runtime
from mamori.sast import gate_report
from mamori.sast.schemas import (
    FindingDetailOut,
    FindingOut,
    GateOut,
    HistoryOut,
    ScanOut,
    ScorecardOut,
    ScorecardsOut,
    SourceOut,
    TriageIn,
    TriageOut,
    TriageScoreOut,
    UploadOut,
)
from mamori.sast.service import gate, intake, queries, scoring, triage
from mamori.sast.service import github as github_service
from mamori.sast.service.scans import Upload
from mamori.web.deps import Ingester, Reader, RuntimeDep, SessionDep, Writer

router = APIRouter(prefix="/sast", tags=["sast"])


def _store(runtime: Runtime, payload: bytes, upload: Upload, fmt: str | None, actor: str) -> UploadOut:
    with runtime.sessions.begin() as session:
        scans = intake.upload(
            session, payload=payload, upload=upload, now=runtime.now(), bus=runtime.bus, actor=actor, fmt=fmt
        )
        return UploadOut(scans=[ScanOut.of(s) for s in scans])


@router.post("/scans", response_model=UploadOut, status_code=201)
async def upload_scan(  # noqa: PLR0917 - FastAPI passes query parameters by name
    request: Request,
    principal: Ingester,
    runtime: RuntimeDep,
    repo: Annotated[str, Query(min_length=1, max_length=300)],
    commit: Annotated[str, Query(min_length=1, max_length=64)],
    branch: str | None = None,
    pr: int | None = None,
    category: str | None = None,
    format: Annotated[str | None, Query(description="sarif, semgrep, bandit, brakeman, horusec")] = None,
    scanned_path: Annotated[list[str] | None, Query(description="only these paths were scanned")] = None,
) -> UploadOut:
    """The request body is the report (SARIF 2.1.0 or a native JSON); each run becomes one scan."""
    payload = await request.body()
    if len(payload) > intake.MAX_REPORT_BYTES:
        raise PayloadTooLarge(f"a report may have at most {intake.MAX_REPORT_BYTES} bytes")
    upload = Upload(
        repo=repo, commit=commit, branch=branch, pr=pr, category=category, scanned_paths=scanned_path,
        source_name="api",
    )  # fmt: skip
    return await run_in_threadpool(_store, runtime, payload, upload, format, principal.name)


def _store_alerts(runtime: Runtime, payload: bytes, repo: str, commit: str, branch: str | None) -> UploadOut:
    with runtime.sessions.begin() as session:
        scans = github_service.import_alerts(
            session, payload=payload, repo=repo, commit=commit, branch=branch, now=runtime.now(), bus=runtime.bus
        )
        return UploadOut(scans=[ScanOut.of(s) for s in scans])


@router.post("/github/alerts", response_model=UploadOut, status_code=201)
async def import_github_alerts(
    request: Request,
    _: Ingester,
    runtime: RuntimeDep,
    repo: Annotated[str, Query(min_length=1, max_length=300)],
    commit: Annotated[str, Query(min_length=1, max_length=64)],
    branch: str | None = None,
) -> UploadOut:
    """The body is GitHub's code-scanning alerts listing (`GET /repos/{owner}/{repo}/code-scanning/alerts`)."""
    payload = await request.body()
    if len(payload) > intake.MAX_REPORT_BYTES:
        raise PayloadTooLarge(f"a listing may have at most {intake.MAX_REPORT_BYTES} bytes")
    return await run_in_threadpool(_store_alerts, runtime, payload, repo, commit, branch)


@router.get("/scans", response_model=list[ScanOut])
def list_scans(_: Reader, session: SessionDep, repo: str | None = None) -> list[ScanOut]:
    return [ScanOut.of(s) for s in queries.list_scans(session, repo=repo)]


@router.get("/findings", response_model=list[FindingOut])
def list_findings(
    _: Reader,
    session: SessionDep,
    repo: str | None = None,
    open_only: Annotated[bool, Query(alias="open", description="only findings still reported")] = True,
    state: str | None = None,
) -> list[FindingOut]:
    rows = queries.list_findings(session, repo=repo, open_only=open_only, state=state)
    tools = queries.tools_by_finding(session, [f.id for f in rows])
    return [FindingOut.of(f, tools.get(f.id, [])) for f in rows]


def _detail(session: SessionDep, finding_id: str) -> FindingDetailOut:
    finding = triage.get_finding(session, finding_id)
    sources = queries.sources(session, finding_id)
    base = FindingOut.of(finding, sorted({s.tool for s in sources}))
    return FindingDetailOut(
        **base.model_dump(),
        sources=[
            SourceOut(
                tool=s.tool, rule_id=s.rule_id, path=s.path, line=s.line, message=s.message, severity=s.severity,
                confidence=s.confidence, cwes=list(s.cwes), open=s.open, suppression=s.suppression,
                fingerprints=list(s.fingerprints),
            )
            for s in sources
        ],
        history=[
            HistoryOut(
                scan_id=h.scan.id, tool=h.tool, commit=h.scan.commit, branch=h.scan.branch, pr=h.scan.pr,
                at=h.scan.uploaded_at, status=h.result.status, path=h.result.path, line=h.result.line,
            )
            for h in queries.history(session, finding_id)
        ],
        triage=[
            TriageOut(
                at=t.at, actor=t.actor, from_state=t.from_state, to_state=t.to_state, reason=t.reason,
                accepted_until=t.accepted_until,
            )
            for t in queries.triage_log(session, finding_id)
        ],
    )  # fmt: skip


@router.get("/findings/{finding_id}", response_model=FindingDetailOut)
def get_finding(finding_id: str, _: Reader, session: SessionDep) -> FindingDetailOut:
    return _detail(session, finding_id)


@router.post("/findings/{finding_id}/triage", response_model=FindingDetailOut)
def triage_finding(
    finding_id: str, body: TriageIn, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> FindingDetailOut:
    """A reason is required for false_positive, wont_fix and accepted_risk; accepted_risk needs an expiry."""
    triage.triage(
        session, finding_id=finding_id, state=body.state, reason=body.reason, accepted_until=body.accepted_until,
        expected_version=body.version, actor=principal.actor(), now=runtime.now(), bus=runtime.bus,
    )  # fmt: skip
    session.commit()
    return _detail(session, finding_id)


@router.get("/gate", response_model=GateOut)
def gate_verdict(  # noqa: PLR0917 - FastAPI passes query parameters by name
    _: Reader, session: SessionDep, runtime: RuntimeDep, repo: str, base: str, head: str, fail_on: str | None = None
) -> GateOut:
    """Findings new in head against base; `passed` is false when one of them blocks."""
    verdict = gate.evaluate(session, repo=repo, base=base, head=head, now=runtime.now(), fail_on=fail_on)
    return GateOut.model_validate(gate_report.as_json(verdict))


@router.get("/scorecards", response_model=ScorecardsOut)
def scorecards(_: Reader, session: SessionDep) -> ScorecardsOut:
    """The newest scorecard of each tool and suite, and each tool judged by the team's triage."""
    return ScorecardsOut(
        benchmarks=[
            ScorecardOut(tool=r.tool, suite=r.suite, at=r.at, overall=r.overall, categories=r.categories)
            for r in scoring.latest(session)
        ],
        triage=[
            TriageScoreOut(tool=t.tool, cwe=t.cwe, tp=t.tp, fp=t.fp, fn=t.fn, precision=t.precision, tpr=t.tpr)
            for t in scoring.triage_scores(session)
        ],
    )
