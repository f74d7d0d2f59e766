"""Triage memory and the pull-request gate, on the demo's two tools at main and on a pull request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.errors import Conflict, NotFound, ValidationFailed
from mamori.core.models import TimelineEvent
from mamori.core.runtime import Runtime
from mamori.demo import DEMO_CONFIG
from mamori.sast import demo, gate_report, sarif
from mamori.sast.models import SastFinding, SastScan, SastTriage
from mamori.sast.service import gate, intake, triage
from mamori.sast.service.scans import Upload

ADA = Actor(name="ada@example.com", source="api")


def _seed(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_CONFIG, runtime.kinds), actor=Actor(name="demo", source="config"))
    demo.seed(runtime)


def _verdict(runtime: Runtime, fail_on: str | None = None) -> gate.Verdict:
    with runtime.sessions() as session:
        return gate.evaluate(
            session, repo=demo.REPO, base=demo.BASE, head=demo.HEAD, now=runtime.now(), fail_on=fail_on
        )


def _finding(runtime: Runtime, rule: str) -> SastFinding:
    with runtime.sessions() as session:
        found = session.scalar(select(SastFinding).where(SastFinding.rule == rule))
        assert found is not None
        session.expunge(found)
        return found


def test_demo_two_tools_agree_on_two_places_and_the_pr_adds_one(runtime: Runtime) -> None:
    _seed(runtime)
    _seed(runtime)  # idempotent
    with runtime.sessions() as session:
        scans = session.scalars(select(SastScan).order_by(SastScan.uploaded_at, SastScan.tool)).all()
        assert [(s.tool, s.pr, s.counts["new"], s.counts["moved"]) for s in scans] == [
            ("bandit", None, 3, 0),
            ("semgrep", None, 1, 0),
            ("bandit", 42, 1, 3),
            ("semgrep", 42, 1, 1),
        ]
        findings = session.scalars(select(SastFinding)).all()
    assert len(findings) == 4  # semgrep's two results joined bandit's findings (same place, same CWE)
    assert {f.service for f in findings} == {"jobs-api"}


def test_the_gate_blocks_only_the_new_untriaged_finding(runtime: Runtime) -> None:
    _seed(runtime)
    verdict = _verdict(runtime)
    assert not verdict.passed
    assert [(i.rule, i.line, i.tools) for i in verdict.blocking] == [("bandit/B301", 24, ("bandit", "semgrep"))]
    assert len(verdict.unchanged) == 3 and verdict.fixed == []
    assert _verdict(runtime, fail_on="critical").passed  # high is below critical
    pickle = _finding(runtime, "bandit/B301")
    with runtime.sessions.begin() as session:
        triage.triage(
            session, finding_id=pickle.id, state="accepted_risk", reason="only admins save searches", actor=ADA,
            accepted_until=runtime.now() + timedelta(days=30), now=runtime.now(), bus=runtime.bus,
        )  # fmt: skip
    assert _verdict(runtime).passed


def test_the_gate_speaks_sarif_with_baseline_state(runtime: Runtime) -> None:
    _seed(runtime)
    log = gate_report.as_sarif(_verdict(runtime))
    states = sorted((r["ruleId"], r["baselineState"]) for run in log["runs"] for r in run["results"])
    assert ("B301", "new") in states and ("B602", "unchanged") in states
    reread = sarif.parse(log)  # what Mamori writes, Mamori (and GitHub) can read
    assert sum(len(run.results) for run in reread) == len(states)


def test_a_false_positive_follows_the_finding_after_it_moved(runtime: Runtime) -> None:
    _seed(runtime)
    fp = _finding(runtime, "bandit/B105")
    assert (fp.state, fp.line) == ("false_positive", 10)  # triaged at line 6 on main, moved to 10 on the PR
    assert fp.id not in {i.finding_id for i in _verdict(runtime).new}


def test_decisions_that_keep_a_finding_from_blocking_need_a_reason(runtime: Runtime) -> None:
    _seed(runtime)
    md5 = _finding(runtime, "bandit/B324")
    with runtime.sessions.begin() as session:
        for state, kwargs in (
            ("false_positive", {}),
            ("wont_fix", {"reason": "  "}),
            ("accepted_risk", {"reason": "legacy"}),
            ("accepted_risk", {"reason": "legacy", "accepted_until": runtime.now() - timedelta(days=1)}),
            ("sleeping", {"reason": "x"}),
        ):
            with pytest.raises(ValidationFailed):
                triage.triage(
                    session, finding_id=md5.id, state=state, actor=ADA, now=runtime.now(), bus=runtime.bus, **kwargs
                )  # fmt: skip
        with pytest.raises(NotFound):
            triage.triage(session, finding_id="nope", state="confirmed", actor=ADA, now=runtime.now(), bus=runtime.bus)
        triage.triage(session, finding_id=md5.id, state="confirmed", actor=ADA, now=runtime.now(), bus=runtime.bus)
        with pytest.raises(Conflict):
            triage.triage(
                session, finding_id=md5.id, state="wont_fix", reason="r", expected_version=md5.version,
                actor=ADA, now=runtime.now(), bus=runtime.bus,
            )  # fmt: skip


def test_an_accepted_risk_reopens_when_it_expires(runtime: Runtime, clock: FixedClock) -> None:
    _seed(runtime)
    pickle = _finding(runtime, "bandit/B301")
    with runtime.sessions.begin() as session:
        triage.triage(
            session, finding_id=pickle.id, state="accepted_risk", reason="short term", actor=ADA,
            accepted_until=runtime.now() + timedelta(days=1), now=runtime.now(), bus=runtime.bus,
        )  # fmt: skip
    assert _verdict(runtime).passed
    clock.advance(timedelta(days=2))
    assert not _verdict(runtime).passed  # expired: it counts again even before the job runs
    with runtime.sessions.begin() as session:
        assert triage.expire_accepted_risks(session, now=runtime.now(), bus=runtime.bus) == 1
        assert session.get_one(SastFinding, pickle.id).state == "new"
        log = session.scalars(select(SastTriage.to_state).where(SastTriage.finding_id == pickle.id)).all()
    assert log == ["accepted_risk", "new"]


def test_a_gate_on_an_unscanned_head_is_not_found(runtime: Runtime) -> None:
    _seed(runtime)
    with runtime.sessions() as session, pytest.raises(NotFound):
        gate.evaluate(session, repo=demo.REPO, base=demo.BASE, head="0" * 40, now=runtime.now())
    with runtime.sessions() as session:
        verdict = gate.evaluate(session, repo=demo.REPO, base="f" * 40, head=demo.HEAD, now=runtime.now())
    assert not verdict.baseline_found and len(verdict.new) == 4


def test_a_finding_marked_fixed_by_hand_that_a_scan_still_reports_is_new_again(runtime: Runtime) -> None:
    _seed(runtime)
    md5 = _finding(runtime, "bandit/B324")
    with runtime.sessions.begin() as session:
        triage.triage(session, finding_id=md5.id, state="fixed", actor=ADA, now=runtime.now(), bus=runtime.bus)
    with runtime.sessions.begin() as session:
        intake.upload(
            session, payload=(demo.DEMO_DIR / "head" / "bandit.sarif").read_bytes(), now=runtime.now(), bus=runtime.bus,
            upload=Upload(repo=demo.REPO, commit="c9", branch="main"), read=demo._reader("head"),
        )  # fmt: skip
        again = session.get_one(SastFinding, md5.id)
        assert (again.state, again.open, again.reopen_count) == ("new", True, 0)


def test_scans_and_new_high_findings_land_on_the_timeline(runtime: Runtime) -> None:
    _seed(runtime)
    with runtime.sessions() as session:
        titles = session.scalars(select(TimelineEvent.title).where(TimelineEvent.source == "sast")).all()
    assert sum("new," in t and "fixed" in t for t in titles) == 4  # one per scan, with its counts
    assert any(t.startswith("New high code finding: Pickle") for t in titles)
    assert any("marked false_positive" in t for t in titles)


def test_a_partial_head_scan_says_nothing_of_files_it_did_not_scan(runtime: Runtime) -> None:
    _seed(runtime)
    with runtime.sessions.begin() as session:
        empty = b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Bandit"}}, "results": []}]}'
        for commit, scope in (("p1", ["docs/"]), ("p2", ["app/"])):
            intake.upload(
                session, payload=empty, now=runtime.now(), bus=runtime.bus,
                upload=Upload(repo=demo.REPO, commit=commit, pr=9, scanned_paths=scope),
            )  # fmt: skip
    with runtime.sessions() as session:
        outside = gate.evaluate(session, repo=demo.REPO, base=demo.BASE, head="p1", now=runtime.now())
        inside = gate.evaluate(session, repo=demo.REPO, base=demo.BASE, head="p2", now=runtime.now())
    assert outside.fixed == [] and outside.passed
    assert sorted(i.rule for i in inside.fixed) == ["bandit/B105", "bandit/B324", "bandit/B602"]
