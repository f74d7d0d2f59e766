"""Each tool measured: benchmark scorecards kept over time, the team's triage as ground truth, and which
tool would have caught each pentest finding, and how early."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.sast import pentest, scorecard_report
from mamori.sast.models import SastFinding, SastPentestFinding, SastScan, SastScorecard, SastSource
from mamori.sast.scorecard import ToolScore


def record(session: Session, *, score: ToolScore, suite: str, now: datetime) -> SastScorecard:
    data = scorecard_report.as_json([score])["tools"][0]
    row = SastScorecard(tool=score.tool, suite=suite, at=now, overall=data["overall"], categories=data["categories"])
    session.add(row)
    session.flush()
    return row


def latest(session: Session) -> list[SastScorecard]:
    """The newest scorecard of each tool and suite."""
    newest: dict[tuple[str, str], SastScorecard] = {}
    for row in session.scalars(select(SastScorecard).order_by(SastScorecard.at, SastScorecard.id)):
        newest[(row.tool, row.suite)] = row
    return [newest[k] for k in sorted(newest)]


def trend(session: Session) -> dict[str, list[tuple[datetime, float]]]:
    """Each tool's score (TPR - FPR) over time, oldest first."""
    out: dict[str, list[tuple[datetime, float]]] = {}
    for row in session.scalars(select(SastScorecard).order_by(SastScorecard.at, SastScorecard.id)):
        out.setdefault(row.tool, []).append((row.at, float(row.overall.get("score", 0.0))))
    return out


@dataclass
class TriageScore:
    """A tool judged by the team's decisions: confirmed (or fixed in code) = TP, false positive = FP, and a
    confirmed finding in a repository the tool scans but that it never reported = FN."""

    tool: str
    cwe: str
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def tpr(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def triage_scores(session: Session) -> list[TriageScore]:
    by_finding: dict[str, set[str]] = {}
    for finding_id, tool in session.execute(select(SastSource.finding_id, SastSource.tool)):
        by_finding.setdefault(finding_id, set()).add(tool)
    scanned: dict[str, set[str]] = {}
    for repo, tool in session.execute(select(SastScan.repo, SastScan.tool).distinct()):
        scanned.setdefault(repo, set()).add(tool)
    scores: dict[tuple[str, str], TriageScore] = {}
    rows = session.execute(
        select(SastFinding.id, SastFinding.repo, SastFinding.cwe, SastFinding.state).where(
            SastFinding.state.in_(("confirmed", "fixed", "false_positive"))
        )
    )
    for finding_id, repo, cwe_id, state in rows:
        reporters = by_finding.get(finding_id, set())
        for tool in scanned.get(repo, set()):
            item = scores.setdefault((tool, cwe_id or "no CWE"), TriageScore(tool=tool, cwe=cwe_id or "no CWE"))
            if state == "false_positive":
                item.fp += tool in reporters
            elif tool in reporters:
                item.tp += 1
            else:
                item.fn += 1
    return [scores[k] for k in sorted(scores) if scores[k].tp + scores[k].fp + scores[k].fn]


def import_pentest(
    session: Session, *, repo: str, findings: list[pentest.PentestFinding], now: datetime, source_name: str = ""
) -> tuple[int, int]:
    """Store the report's findings (validated already); returns (added, already known)."""
    known = set(session.scalars(select(SastPentestFinding.key).where(SastPentestFinding.repo == repo)))
    added = 0
    for item in findings:
        if item.key in known:
            continue
        known.add(item.key)
        added += 1
        session.add(
            SastPentestFinding(
                repo=repo, key=item.key, title=item.title, cwe=item.cwe, path=item.path, endpoint=item.endpoint,
                severity=item.severity, found_at=item.found_at, imported_at=now, source_name=source_name[:1000],
            )
        )  # fmt: skip
    session.flush()
    return added, len(findings) - added


@dataclass
class Catch:
    tool: str
    first_commit: str
    first_seen_at: datetime
    days_early: float


@dataclass
class PentestMatch:
    finding: SastPentestFinding
    sast_finding_id: str | None = None
    caught_by: list[Catch] = field(default_factory=list)


def _same_place(pentest_path: str, finding_path: str) -> bool:
    a, b = pentest_path.strip("/"), finding_path.strip("/")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def pentest_report(session: Session, *, repo: str | None = None) -> list[PentestMatch]:
    """For each pentest finding: the SAST finding of the same CWE at the same file, and each tool that
    reported it with the first commit it did so and how many days before the pentest."""
    stmt = select(SastPentestFinding).order_by(SastPentestFinding.found_at, SastPentestFinding.id)
    out = []
    for item in session.scalars(stmt.where(SastPentestFinding.repo == repo) if repo else stmt):
        match = PentestMatch(finding=item)
        out.append(match)
        if not item.cwe or not item.path:
            continue
        candidates = session.scalars(
            select(SastFinding).where(SastFinding.repo == item.repo, SastFinding.cwe == item.cwe)
        ).all()
        found = next((f for f in candidates if _same_place(item.path, f.path)), None)
        if found is None:
            continue
        match.sast_finding_id = found.id
        for source in session.scalars(select(SastSource).where(SastSource.finding_id == found.id)):
            first = session.get(SastScan, source.first_scan_id)
            seen = source.first_seen_at
            match.caught_by.append(
                Catch(
                    tool=source.tool, first_commit=first.commit if first else "", first_seen_at=seen,
                    days_early=round((item.found_at - seen).total_seconds() / 86400, 1),
                )
            )  # fmt: skip
        match.caught_by.sort(key=lambda c: c.first_seen_at)
    return out
