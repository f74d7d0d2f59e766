"""The pull-request gate: findings in the head commit's scans against the base commit's, judged by policy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.errors import NotFound, ValidationFailed
from mamori.core.models import Service
from mamori.sast import kinds
from mamori.sast.gate import GateItem, Verdict, decide
from mamori.sast.matcher import in_scope
from mamori.sast.models import SastFinding, SastScan, SastScanResult
from mamori.sast.service.queries import tools_by_finding
from mamori.sast.service.triage import is_triaged_away
from mamori.sast.severity import check


def _seen_at(session: Session, repo: str, commit: str) -> tuple[list[str], set[str]]:
    """The scans of one commit and the findings they reported (not those they marked fixed)."""
    scan_ids = list(session.scalars(select(SastScan.id).where(SastScan.repo == repo, SastScan.commit == commit)))
    if not scan_ids:
        return [], set()
    found = set(
        session.scalars(
            select(SastScanResult.finding_id).where(
                SastScanResult.scan_id.in_(scan_ids), SastScanResult.status != "fixed"
            )
        )
    )
    return scan_ids, found


def evaluate(
    session: Session, *, repo: str, base: str, head: str, now: datetime, fail_on: str | None = None
) -> Verdict:
    """The verdict on `head` against `base`; NotFound when nothing was uploaded for head."""
    if fail_on is not None:
        try:
            fail_on = check(fail_on)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from exc
    head_scans, in_head = _seen_at(session, repo, head)
    if not head_scans:
        raise NotFound(f"no scan of {repo} at {head}: upload the head commit's results first")
    base_scans, in_base = _seen_at(session, repo, base)
    coverage: dict[str, list[list[str] | None]] = {}
    for tool, scanned in session.execute(
        select(SastScan.tool, SastScan.scanned_paths).where(SastScan.id.in_(head_scans))
    ):
        coverage.setdefault(tool, []).append(scanned)
    ids = sorted(in_head | in_base)
    findings = {f.id: f for f in _load(session, ids)}
    tools = tools_by_finding(session, ids)
    items: list[GateItem] = []
    for finding_id in ids:
        finding = findings[finding_id]
        finding_tools = tuple(tools.get(finding_id, []))
        if finding_id in in_head:
            status = "unchanged" if finding_id in in_base else "new"
        elif any(in_scope(finding.path, scope) for tool in finding_tools for scope in coverage.get(tool, [])):
            status = "fixed"
        else:
            continue  # no head scan of its tools looked at its file: head says nothing about it
        items.append(_item(finding, finding_tools, status, now))
    service = next((f.service for f in findings.values() if f.service), None)
    tier = session.scalar(select(Service.tier).where(Service.name == service)) if service else None
    return decide(
        repo=repo, base=base, head=head, items=items, policy=kinds.policy(session), tier=tier, fail_on=fail_on,
        baseline_found=bool(base_scans),
    )  # fmt: skip


def _load(session: Session, ids: list[str]) -> list[SastFinding]:
    out: list[SastFinding] = []
    for start in range(0, len(ids), 500):
        out.extend(session.scalars(select(SastFinding).where(SastFinding.id.in_(ids[start : start + 500]))))
    return out


def _item(finding: SastFinding, tools: tuple[str, ...], status: str, now: datetime) -> GateItem:
    return GateItem(
        finding_id=finding.id, rule=finding.rule, title=finding.title, path=finding.path, line=finding.line,
        severity=finding.severity, cwe=finding.cwe, state=finding.state, tools=tools,
        triaged_away=is_triaged_away(finding, now), status=status,
    )  # fmt: skip
