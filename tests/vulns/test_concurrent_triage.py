"""A rescan that runs while someone triages a finding judges and audits the finding as that person left it."""

from __future__ import annotations

import threading
from pathlib import Path

from mamori.core import audit
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.vulns import store
from mamori.vulns.service import findings, queries
from tests.core.concurrency import until_blocked_or_done
from tests.vulns.helpers import advisory, seed_services, write_advisories, write_repos

ALICE = Actor(name="alice@jobs.example", source="api")


def test_a_rescan_during_a_triage_sees_the_decision_it_closes(runtime: Runtime, tmp_path: Path) -> None:
    seed_services(runtime)
    repos = write_repos(tmp_path / "repos")
    adv = write_advisories(tmp_path / "adv", advisory("GHSA-aaaa", "mistune", aliases=("CVE-2026-1",)))
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
        store.sync_advisories(session, runtime=runtime, now=runtime.now(), source=str(adv))
        findings.rescan(session, now=runtime.now())
    with runtime.sessions() as session:
        (finding,) = queries.list_findings(session, service="jobs-api")
        fid = finding.id
    write_repos(repos, mistune="2.0.3")  # upgraded: the next rescan closes the finding
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())

    errors: list[BaseException] = []

    def rescan() -> None:
        try:
            with runtime.sessions.begin() as session:
                findings.rescan(session, now=runtime.now())
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    with runtime.sessions.begin() as session:
        findings.triage(
            session,
            finding_id=fid,
            actor=ALICE,
            now=runtime.now(),
            state="not_affected",
            justification="vulnerable_code_not_in_execute_path",
        )
        thread = threading.Thread(target=rescan)
        thread.start()
        until_blocked_or_done(runtime, thread)
    thread.join(timeout=60)
    assert not thread.is_alive() and not errors, errors

    with runtime.sessions() as session:
        closed = queries.get_finding(session, fid)
        assert (closed.state, closed.justification) == ("fixed", None)
        entries = audit.list_entries(session, object_type="VulnFinding", object_id=fid)
    by_rescan = [e for e in entries if e.action == "rescan"]
    assert len(by_rescan) == 1
    assert by_rescan[0].before is not None and by_rescan[0].before["state"] == "not_affected"
