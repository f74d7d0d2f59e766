"""Storing one tool's scan: match it to what the tool reported before, then write scan, sources, findings
and results in the caller's one transaction. A scan that covered only some paths, or a pull-request scan,
never closes a finding outside what it saw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mamori.core.db import new_id
from mamori.core.events import EventBus
from mamori.core.models import Service
from mamori.sast import cwe, gcpause, identity, kinds, severity
from mamori.sast.fingerprint import base_of
from mamori.sast.matcher import Candidate, Known, match
from mamori.sast.models import SastFinding, SastScan, SastScanResult, SastSource
from mamori.sast.result import ParsedScan, Result, tool_slug
from mamori.sast.service import announce
from mamori.sast.service import rows as rows_
from mamori.sast.service.rows import Row


@dataclass(frozen=True)
class Upload:
    """Where a scan belongs: repository, commit, branch, pull request, category, and what it covered."""

    repo: str
    commit: str
    branch: str | None = None
    pr: int | None = None
    category: str | None = None
    scanned_paths: list[str] | None = None
    source_name: str = ""


def service_for(session: Session, repo: str) -> str | None:
    """The catalog's service whose `repository` is this repo (a URL ending in it counts)."""
    wanted = repo.rstrip("/").removesuffix(".git").lower()
    for name, repository in session.execute(select(Service.name, Service.repository)).all():
        have = (repository or "").rstrip("/").removesuffix(".git").lower()
        if have and (have == wanted or have.endswith("/" + wanted) or wanted.endswith("/" + have)):
            return str(name)
    return None


FindingRow = Row
SourceRow = Row


def _known(session: Session, repo: str, tool: str, category: str) -> tuple[list[Row], list[Known]]:
    where = (SastSource.repo == repo, SastSource.tool == tool, SastSource.category == category)
    rows = rows_.load(session, SastSource, *where)
    known = [
        Known(
            id=s.id,
            rule=s.rule_key,
            path=s.path,
            line=s.line,
            message=s.message,
            line_hash=s.line_hash,
            text_hash=s.text_hash,
            fingerprints=frozenset(s.fingerprints or ()),
            tool_fingerprints=tuple(sorted((s.tool_fingerprints or {}).items())),
            open=s.open,
        )
        for s in rows
    ]
    return rows, known


def _dedupe(results: list[Result]) -> tuple[list[Result], list[Candidate], list[int]]:
    """One result per identity (a tool that reports the same place twice): the first, and how many."""
    first: dict[str, int] = {}
    kept: list[Result] = []
    candidates: list[Candidate] = []
    counts: list[int] = []
    for result in results:
        cand = identity.candidate(result)
        key = min(k for k in cand.fingerprints if k.startswith("mamori/"))
        if key in first:
            counts[first[key]] += 1
            continue
        first[key] = len(kept)
        kept.append(result)
        candidates.append(cand)
        counts.append(1)
    return kept, candidates, counts


@dataclass
class _Repo:
    """What one scan's writes need of the repository, loaded once: findings by id, open findings by place
    (for joining another tool's finding) and each finding's tools."""

    findings: dict[str, FindingRow]
    by_place: dict[tuple[str, str], list[FindingRow]]
    tools: dict[str, set[str]]

    @classmethod
    def load(cls, session: Session, repo: str) -> _Repo:
        findings: dict[str, FindingRow] = {f.id: f for f in rows_.load(session, SastFinding, SastFinding.repo == repo)}
        by_place: dict[tuple[str, str], list[FindingRow]] = {}
        for f in findings.values():
            if f.open and f.cwe:
                by_place.setdefault((f.path, f.cwe), []).append(f)
        tools: dict[str, set[str]] = {}
        for finding_id, tool in session.execute(
            select(SastSource.finding_id, SastSource.tool).where(SastSource.repo == repo)
        ):
            tools.setdefault(finding_id, set()).add(tool)
        return cls(findings=findings, by_place=by_place, tools=tools)

    def merge_target(self, result: Result, tool: str) -> FindingRow | None:
        """An open finding of another tool at the same place with the same CWE: one finding, two sources."""
        for cwe_id in result.cwes:
            for finding in self.by_place.get((result.path, cwe_id), []):
                same_place = finding.line == result.start_line or (
                    base_of(finding.line_hash) == base_of(result.line_hash or "")
                )
                if same_place and tool not in self.tools.get(finding.id, set()):
                    return finding
        return None

    def add(self, finding: FindingRow, tool: str) -> None:
        self.findings[finding.id] = finding
        self.tools.setdefault(finding.id, set()).add(tool)
        if finding.cwe:
            self.by_place.setdefault((finding.path, finding.cwe), []).append(finding)


def _new_finding(
    result: Result, *, service: str | None, upload: Upload, now: datetime, sla_days: dict[str, int]
) -> Row:
    first_cwe = result.cwe
    days = sla_days.get(result.severity)
    return Row(
        {
            "id": new_id(), "repo": upload.repo, "service": service, "title": result.message[:1000] or result.rule_id,
            "rule": identity.rule_key(result), "cwe": first_cwe, "owasp": cwe.owasp_category(first_cwe),
            "path": result.path, "line": result.start_line, "line_hash": result.line_hash or "",
            "severity": result.severity, "open": True, "state": "new", "reason": None, "accepted_until": None,
            "triaged_by": None, "triaged_at": None, "suppressed": result.suppressed,
            "suppression": _suppression_text(result), "reopen_count": 0,
            "due_at": now + timedelta(days=days) if days else None, "first_commit": upload.commit,
            "first_seen_at": now, "last_seen_at": now, "version": 1,
        },
        new=True,
    )  # fmt: skip


def _new_source(finding_id: str, *, upload: Upload, tool: str, category: str, scan_id: str, now: datetime) -> Row:
    """A source row with every column; `_update_source` fills in what the tool reported."""
    return Row(
        {
            "id": new_id(), "finding_id": finding_id, "repo": upload.repo, "tool": tool, "category": category,
            "rule_id": "", "rule_key": "", "path": "", "line": 0, "line_hash": "", "text_hash": "", "message": "",
            "severity": "medium", "confidence": "", "cwes": [], "fingerprints": [], "tool_fingerprints": {},
            "snippet": "", "context": "", "context_start": 0, "suppression": None, "open": True,
            "first_scan_id": scan_id, "last_scan_id": scan_id, "first_seen_at": now, "last_seen_at": now,
        },
        new=True,
    )  # fmt: skip


def _suppression_text(result: Result) -> str | None:
    accepted = [s for s in result.suppressions if s.status == "accepted"]
    if not accepted:
        return None
    s = accepted[0]
    return f"{s.kind}: {s.justification}"[:200] if s.justification else s.kind


def _assign(row: Row, values: dict[str, object]) -> None:
    """Set only what changed: an unchanged row stays clean and costs no UPDATE (most of a rescan)."""
    for name, value in values.items():
        if getattr(row, name) != value:
            row.write(name, value)


def _update_source(source: SourceRow, result: Result, cand_prints: frozenset[str]) -> None:
    """The source as the tool reports it now; `last_scan_id`/`last_seen_at` are set in bulk (`_touch`)."""
    prints = set(source.fingerprints or ())
    _assign(
        source,
        {
            "path": result.path, "line": result.start_line, "line_hash": result.line_hash or "",
            "text_hash": result.text_hash, "message": result.message, "severity": result.severity,
            "confidence": result.confidence, "cwes": list(result.cwes), "snippet": result.snippet[:4000],
            "context": result.context[:8000], "context_start": result.context_start,
            "rule_id": result.rule_id, "rule_key": identity.rule_key(result),
            "tool_fingerprints": dict(result.tool_fingerprints), "suppression": _suppression_text(result),
            "open": True,
        },
    )  # fmt: skip
    if not cand_prints <= prints:
        # old identities stay matchable after an algorithm or tool-fingerprint change (a version is never dropped)
        _assign(source, {"fingerprints": sorted(prints | cand_prints)})


def _touch(session: Session, *, scan: SastScan, source_ids: list[str], finding_ids: list[str]) -> None:
    """Last seen by this scan: one UPDATE per 500 rows instead of one per row."""
    for start in range(0, len(source_ids), 500):
        chunk = source_ids[start : start + 500]
        session.execute(
            update(SastSource)
            .where(SastSource.id.in_(chunk))
            .values(last_scan_id=scan.id, last_seen_at=scan.uploaded_at)
            .execution_options(synchronize_session=False)
        )
    for start in range(0, len(finding_ids), 500):
        chunk = finding_ids[start : start + 500]
        session.execute(
            update(SastFinding)
            .where(SastFinding.id.in_(chunk))
            .values(last_seen_at=scan.uploaded_at)
            .execution_options(synchronize_session=False)
        )


def _sanitise(result: Result) -> None:
    """No NUL character reaches storage (PostgreSQL refuses them in text; a scanner may quote binary code)."""
    for name in ("rule_id", "rule_name", "message", "path", "snippet"):
        value = getattr(result, name)
        if "\x00" in value:
            setattr(result, name, value.replace("\x00", "\ufffd"))


def _update_finding(finding: FindingRow, result: Result) -> None:
    values: dict[str, object] = {
        "path": result.path, "line": result.start_line, "line_hash": result.line_hash or "",
        "suppressed": result.suppressed, "suppression": _suppression_text(result),  # the latest report
    }  # fmt: skip
    if severity.at_least(result.severity, finding.severity):
        values["severity"] = result.severity  # the most severe of its tools' opinions
    _assign(finding, values)


def store_scan(
    session: Session,
    *,
    parsed: ParsedScan,
    upload: Upload,
    now: datetime,
    bus: EventBus,
    actor: str = "",
    read: identity.SourceReader | None = None,
) -> SastScan:
    """Store one tool's scan (already parsed and valid); returns the scan with its counts."""
    with gcpause.paused():
        return _store(session, parsed=parsed, upload=upload, now=now, bus=bus, actor=actor, read=read)


def _store(
    session: Session,
    *,
    parsed: ParsedScan,
    upload: Upload,
    now: datetime,
    bus: EventBus,
    actor: str,
    read: identity.SourceReader | None,
) -> SastScan:
    tool = tool_slug(parsed.tool)
    for each in parsed.results:
        each.tool = tool
        _sanitise(each)
    category = upload.category if upload.category is not None else parsed.category
    identity.assign_line_hashes(parsed.results, read)
    results, candidates, occurrences = _dedupe(parsed.results)
    rows, known = _known(session, upload.repo, tool, category)
    scanned = upload.scanned_paths if upload.scanned_paths is not None else parsed.scanned_paths
    outcome = match(candidates, known, scanned=scanned)
    if upload.pr is not None:  # a pull request's scan says nothing about the default branch: it closes nothing
        outcome.fixed = []
    service = service_for(session, upload.repo)
    scan = SastScan(
        id=new_id(), repo=upload.repo, tool=tool, tool_version=parsed.tool_version, category=category,
        commit=upload.commit, branch=upload.branch, pr=upload.pr, format=parsed.format, scanned_paths=scanned,
        source_name=upload.source_name[:1000], uploaded_at=now, uploaded_by=actor, result_count=len(parsed.results),
    )  # fmt: skip
    session.add(scan)
    session.flush()  # the result rows refer to it
    by_id = {s.id: s for s in rows}
    state = _Repo.load(session, upload.repo)
    sla_days = kinds.policy(session).sla_days
    opened: list[tuple[FindingRow, bool]] = []
    new_findings: list[Row] = []
    new_sources: list[Row] = []
    results_out: list[dict[str, object]] = []
    for (index, known_id, status), result, count in zip(outcome.matches, results, occurrences, strict=True):
        source: SourceRow | None = by_id.get(known_id) if known_id else None
        if source is None:
            merged = state.merge_target(result, tool)
            if merged is None:
                created = _new_finding(result, service=service, upload=upload, now=now, sla_days=sla_days)
                opened.append((created, False))
                new_findings.append(created)
            state.add(merged or created, tool)
            fresh = _new_source(
                (merged or created).id, upload=upload, tool=tool, category=category, scan_id=scan.id, now=now
            )
            new_sources.append(fresh)
            source = fresh
        finding = state.findings[source.finding_id]
        if status == "reopened" or not finding.open or finding.state == "fixed":  # marked fixed, yet reported
            reopen = {"open": True, "reopen_count": finding.reopen_count + (status == "reopened")}
            _assign(finding, {**reopen, "state": "new"} if finding.state == "fixed" else reopen)
            opened.append((finding, True))
        _update_source(source, result, candidates[index].fingerprints)
        _update_finding(finding, result)
        results_out.append(
            {
                "scan_id": scan.id, "finding_id": finding.id, "source_id": source.id, "status": status,
                "path": result.path, "line": result.start_line, "occurrences": count,
            }
        )  # fmt: skip
    _write(session, scan=scan, state=state, sources=rows, new=(new_findings, new_sources), results=results_out)
    _close(session, [by_id[k] for k in outcome.fixed], scan, state)
    scan.counts = outcome.counts()
    session.flush()
    announce.publish(session, bus=bus, scan=scan, service=service, opened=opened, now=now, results=results)
    return scan


def _write(
    session: Session,
    *,
    scan: SastScan,
    state: _Repo,
    sources: list[Row],
    new: tuple[list[Row], list[Row]],
    results: list[dict[str, object]],
) -> None:
    """New findings and sources by one INSERT each (parents first), changed ones by UPDATE executemany, the
    result rows by one executemany (never read back in this transaction), last seen by UPDATEs of 500."""
    rows_.insert_new(session, SastFinding, new[0])
    rows_.insert_new(session, SastSource, new[1])
    rows_.write_changes(session, SastFinding, state.findings.values())
    rows_.write_changes(session, SastSource, sources)
    if results:
        session.execute(insert(rows_.table_of(SastScanResult)), results)
    _touch(
        session, scan=scan, source_ids=[str(r["source_id"]) for r in results],
        finding_ids=sorted({str(r["finding_id"]) for r in results}),
    )  # fmt: skip


def _close(session: Session, sources: list[Row], scan: SastScan, state: _Repo) -> None:
    """Mark the tool's unseen sources fixed; a finding is fixed when no tool reports it any more."""
    written: list[dict[str, object]] = []
    for source in sources:
        _assign(source, {"open": False})
        written.append(
            {
                "scan_id": scan.id, "finding_id": source.finding_id, "source_id": source.id, "status": "fixed",
                "path": source.path, "line": source.line, "occurrences": 0,
            }
        )  # fmt: skip
    if written:
        session.execute(insert(rows_.table_of(SastScanResult)), written)
    rows_.write_changes(session, SastSource, sources)
    touched = sorted({s.finding_id for s in sources})
    still_open: set[str] = set()
    for start in range(0, len(touched), 500):
        chunk = touched[start : start + 500]
        still_open.update(
            session.scalars(select(SastSource.finding_id).where(SastSource.finding_id.in_(chunk), SastSource.open))
        )
    for finding_id in touched:
        if finding_id not in still_open:
            finding = state.findings[finding_id]
            closing: dict[str, object] = {"open": False}
            if finding.state in ("new", "confirmed"):
                closing["state"] = "fixed"
            _assign(finding, closing)
    rows_.write_changes(session, SastFinding, (state.findings[f] for f in touched))
