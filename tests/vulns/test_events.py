"""The vulns domain publishes every change of a dependency finding, so the security-findings queue sees it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from mamori.core.audit import Actor
from mamori.core.events import DELIVER_JOB, Event
from mamori.core.jobs import JobContext
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.vulns import events, store
from mamori.vulns.service import findings
from tests.vulns.helpers import advisory, seed_services, write_advisories, write_repos

ALICE = Actor(name="alice@jobs.example", source="api")


def _published(runtime: Runtime) -> list[dict[str, object]]:
    with runtime.sessions() as session:
        rows = session.scalars(select(Job).where(Job.kind == DELIVER_JOB).order_by(Job.id)).all()
        # one delivery per subscriber: count the deliveries to this test's own listener
        return [
            {"type": r.payload["type"], **r.payload["data"]}
            for r in rows
            if str(r.payload["subscriber"]).startswith("test.")
        ]


def _listen(runtime: Runtime) -> None:
    def ignore(ctx: JobContext, event: Event) -> None:
        return None

    for cls in (events.FindingOpened, events.FindingChanged, events.FindingResolved):
        runtime.bus.subscribe(cls, f"test.{cls.type}", ignore)


def test_a_rescan_publishes_opened_and_resolved_and_triage_publishes_changed(runtime: Runtime, tmp_path: Path) -> None:
    _listen(runtime)
    seed_services(runtime)
    repos = write_repos(tmp_path / "repos")
    adv = write_advisories(tmp_path / "adv", advisory("GHSA-aaaa", "mistune", aliases=("CVE-2026-1",)))
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
        store.sync_advisories(session, runtime=runtime, now=runtime.now(), source=str(adv))
        findings.rescan(session, now=runtime.now(), bus=runtime.bus)
    opened = _published(runtime)
    assert {(e["type"], e["service"], e["package"], e["advisory"]) for e in opened} == {
        ("vulns.finding_opened", "jobs-api", "mistune", "GHSA-aaaa"),
        ("vulns.finding_opened", "matching-worker", "mistune", "GHSA-aaaa"),
    }
    jobs_api = next(e for e in opened if e["service"] == "jobs-api")
    assert jobs_api["aliases"] == ["CVE-2026-1"] and jobs_api["locations"] == ["jobs-api/requirements.txt"]
    assert jobs_api["ecosystem"] == "PyPI" and jobs_api["version"]

    with runtime.sessions.begin() as session:
        findings.rescan(session, now=runtime.now(), bus=runtime.bus)
    assert len(_published(runtime)) == 2, "a rescan that changes nothing publishes nothing"

    with runtime.sessions.begin() as session:
        findings.triage(
            session,
            finding_id=str(jobs_api["finding_id"]),
            actor=ALICE,
            now=runtime.now(),
            state="affected",
            bus=runtime.bus,
        )
    changed = _published(runtime)[-1]
    assert (changed["type"], changed["state"], changed["finding_id"]) == (
        "vulns.finding_changed",
        "affected",
        jobs_api["finding_id"],
    )

    write_repos(repos, mistune="2.0.3")
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
        findings.rescan(session, now=runtime.now(), bus=runtime.bus)
    resolved = [e for e in _published(runtime) if e["type"] == "vulns.finding_resolved"]
    assert [(e["service"], e["finding_id"]) for e in resolved] == [("jobs-api", jobs_api["finding_id"])]
