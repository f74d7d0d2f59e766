"""Demo data of the sast domain: Bandit and Semgrep on the jobs API at main and on a pull request that adds
one new finding (blocked by the gate), one false positive triaged on main, scorecards on a small labelled
suite (two dates, for the trend) and a pentest report."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.sast import pentest, scorecard
from mamori.sast.identity import SourceReader
from mamori.sast.models import SastFinding, SastScan
from mamori.sast.service import intake, scoring, triage
from mamori.sast.service.scans import Upload

DEMO_DIR = Path(__file__).resolve().parent / "demo"
REPO = "jobly-example/jobs-api"
BASE = "9f1c2e7a4b3d5c6e7f8091a2b3c4d5e6f7081920"
HEAD = "4d5e6f7081920a1b2c3d4e5f60718293a4b5c6d7"
PR = 42
REPORTS = (("bandit.sarif", "sarif"), ("semgrep.json", "semgrep"))


def _reader(version: str) -> SourceReader:
    source = (DEMO_DIR / version / "views.py.txt").read_text()
    return lambda path: source if path == "app/views.py" else None


def seed(runtime: Runtime) -> None:
    """Idempotent: nothing is stored again once the base commit has scans."""
    with runtime.sessions.begin() as session:
        if session.scalar(select(SastScan.id).where(SastScan.repo == REPO, SastScan.commit == BASE).limit(1)):
            return
        now = runtime.now()
        for version, commit, branch, pr, at in (
            ("base", BASE, "main", None, now - timedelta(days=2)),
            ("head", HEAD, "feature/saved-searches", PR, now - timedelta(hours=3)),
        ):
            for name, fmt in REPORTS:
                intake.upload(
                    session, payload=(DEMO_DIR / version / name).read_bytes(), fmt=fmt, now=at, bus=runtime.bus,
                    upload=Upload(repo=REPO, commit=commit, branch=branch, pr=pr, source_name=name),
                    read=_reader(version), actor="demo",
                )  # fmt: skip
            if version == "base":
                _triage_false_positive(session, runtime, at)
        _scorecards(session, now)
        _pentest(session, now)


def _scorecards(session: Session, now: datetime) -> None:
    """The demo's small labelled suite, scored a month ago and yesterday (a trend of two points per tool)."""
    folder = DEMO_DIR / "benchmark"
    cases = scorecard.parse_expected((folder / "expected.csv").read_text())
    for suffix, at in (("-older", now - timedelta(days=30)), ("", now - timedelta(days=1))):
        for tool in ("bandit", "semgrep"):
            (run,) = intake.parse_report((folder / f"{tool}{suffix}.sarif").read_bytes())
            score = scorecard.score(tool, cases, scorecard.flagged(run.results))
            scoring.record(session, score=score, suite="demo suite", now=at)


def _pentest(session: Session, now: datetime) -> None:
    """The pentest found the command injection a day ago; both tools had flagged it on main two days ago."""
    found = pentest.parse((DEMO_DIR / "pentest.yaml").read_text(), fmt="yaml")
    dated = [replace(item, found_at=now - timedelta(days=1)) for item in found]
    scoring.import_pentest(session, repo=REPO, findings=dated, now=now, source_name="pentest.yaml")


def _triage_false_positive(session: Session, runtime: Runtime, at: datetime) -> None:
    finding = session.scalar(
        select(SastFinding).where(SastFinding.repo == REPO, SastFinding.rule == "bandit/B105").limit(1)
    )
    if finding is not None:
        triage.triage(
            session, finding_id=finding.id, state="false_positive", bus=runtime.bus, now=at + timedelta(hours=1),
            reason="API_PASSWORD is the documented demo value, not a credential",
            actor=Actor(name="demo", source="config"),
        )  # fmt: skip
