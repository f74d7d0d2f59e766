"""Server side: inventory per service, advisory sync, rescans that keep decisions, triage rules."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mamori.core import audit, jobs, manifest, timeline
from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput, ValidationFailed
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.vulns import store
from mamori.vulns.jobs import SYNC_JOB
from mamori.vulns.kinds import RepositoryMapping
from mamori.vulns.models import VulnAdvisory, VulnComponent, VulnFinding, VulnSyncState
from mamori.vulns.service import findings, queries
from tests.vulns.helpers import advisory, seed_services, write_advisories, write_repos

ALICE = Actor(name="alice@jobs.example", source="api")


def _setup(runtime: Runtime, tmp_path: Path, *records: dict[str, object]) -> Path:
    seed_services(runtime)
    repos = write_repos(tmp_path / "repos")
    adv = write_advisories(tmp_path / "adv", *(records or (advisory("GHSA-aaaa", "mistune", aliases=("CVE-2026-1",)),)))
    with runtime.sessions.begin() as session:
        inv = store.record_inventory(session, root=repos, now=runtime.now())
        assert inv.errors == []
        store.sync_advisories(session, runtime=runtime, now=runtime.now(), source=str(adv))
        findings.rescan(session, now=runtime.now())
    return repos


def _one(runtime: Runtime, service: str = "jobs-api") -> VulnFinding:
    with runtime.sessions() as session:
        rows = queries.list_findings(session, service=service)
        assert len(rows) == 1
        session.expunge_all()
        return rows[0]


def test_inventory_maps_folders_to_services_by_repository_name(runtime: Runtime, tmp_path: Path) -> None:
    seed_services(runtime)
    repos = write_repos(tmp_path)
    with runtime.sessions.begin() as session:
        result = store.record_inventory(session, root=repos, now=runtime.now())
        rows = session.scalars(select(VulnComponent).order_by(VulnComponent.service, VulnComponent.name)).all()
    assert result.services == ["jobs-api", "matching-worker"]
    assert [(r.service, r.name, r.source_file) for r in rows] == [
        ("jobs-api", "mistune", "jobs-api/requirements.txt"),
        ("jobs-api", "requests", "jobs-api/requirements.txt"),
        ("matching-worker", "mistune", "matcher/requirements-dev.txt"),
    ]


def test_inventory_reports_files_no_service_owns_and_honours_explicit_mappings(
    runtime: Runtime, tmp_path: Path
) -> None:
    repos = write_repos(tmp_path)
    with runtime.sessions.begin() as session:
        unmapped = store.record_inventory(session, root=repos, now=runtime.now())
        assert unmapped.components == 0
        assert any("jobs-api/requirements.txt: no service owns this file" in e for e in unmapped.errors)
        mapped = store.record_inventory(
            session,
            root=repos,
            now=runtime.now(),
            mappings=[RepositoryMapping(path="matcher", service="matching-worker")],
        )
    assert mapped.services == ["matching-worker"]


def test_broken_lockfile_keeps_the_previous_components_of_that_file(runtime: Runtime, tmp_path: Path) -> None:
    seed_services(runtime)
    repos = write_repos(tmp_path)
    (repos / "jobs-api" / "package-lock.json").write_text(
        '{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0"}}}'
    )
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
    (repos / "jobs-api" / "package-lock.json").write_text("{ broken")
    with runtime.sessions.begin() as session:
        result = store.record_inventory(session, root=repos, now=runtime.now())
        names = set(session.scalars(select(VulnComponent.name).where(VulnComponent.service == "jobs-api")))
    assert any("package-lock.json" in e and "not valid JSON" in e for e in result.errors)
    assert names == {"a", "mistune", "requests"}


def test_rescan_creates_one_finding_per_service_ranked_by_exposure(runtime: Runtime, tmp_path: Path) -> None:
    _setup(runtime, tmp_path)
    api, worker = _one(runtime, "jobs-api"), _one(runtime, "matching-worker")
    assert (api.advisory_id, api.package, api.version, api.team) == ("GHSA-aaaa", "mistune", "2.0.2", "backend")
    assert api.aliases == ["CVE-2026-1"] and api.severity == "CRITICAL" and api.cvss_score == 9.8
    assert api.priority == "P2" and api.due_at == runtime.now() + timedelta(days=30)
    assert "tier-1 service" in api.priority_reasons and "tier-1 service" not in worker.priority_reasons
    with runtime.sessions() as session:
        events = timeline.list_events(session, kinds=["finding"])
    assert any(e.title == "New finding: GHSA-aaaa in mistune 2.0.2 (jobs-api)" for e in events)


def test_kev_and_epss_enrichment_raise_priority_to_p1_with_a_seven_day_sla(runtime: Runtime, tmp_path: Path) -> None:
    seed_services(runtime)
    kev = json.dumps({"vulnerabilities": [{"cveID": "CVE-2026-1", "vendorProject": "x", "product": "mistune"}]})
    epss = (
        b"#model_version:v2025.03.14,score_date:2026-11-28T00:00:00+0000\ncve,epss,percentile\nCVE-2026-1,0.91,0.99\n"
    )
    with runtime.sessions.begin() as session:
        store.import_kev(session, payload=kev.encode(), now=runtime.now())
        store.import_epss(session, payload=epss, now=runtime.now())
    _setup_after_seed(runtime, tmp_path)
    api = _one(runtime)
    assert api.kev and api.epss == pytest.approx(0.91)
    assert api.priority == "P1" and api.due_at == runtime.now() + timedelta(days=7)
    assert "known exploited (CISA KEV)" in api.priority_reasons


def _setup_after_seed(runtime: Runtime, tmp_path: Path) -> None:
    repos = write_repos(tmp_path / "repos")
    adv = write_advisories(tmp_path / "adv", advisory("GHSA-aaaa", "mistune", aliases=("CVE-2026-1",)))
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
        store.sync_advisories(session, runtime=runtime, now=runtime.now(), source=str(adv))
        findings.rescan(session, now=runtime.now())


def test_bad_enrichment_files_change_nothing_and_say_what_is_wrong(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        store.import_epss(session, payload=b"cve,epss,percentile\nCVE-1,0.5,0.5\n", now=runtime.now())
    with runtime.sessions.begin() as session:
        with pytest.raises(InvalidInput, match="row 2: epss and percentile must be numbers"):
            store.import_epss(session, payload=b"cve,epss,percentile\nCVE-1,high,0.5\n", now=runtime.now())
        with pytest.raises(InvalidInput, match="needs a 'vulnerabilities' list"):
            store.import_kev(session, payload=b"{}", now=runtime.now())
    with runtime.sessions() as session:
        assert store.epss_for(session, ["CVE-1"]) == {"CVE-1": 0.5}


def test_not_affected_survives_rescans_and_reopens_when_affected_versions_change(
    runtime: Runtime, tmp_path: Path
) -> None:
    _setup(runtime, tmp_path)
    fid = _one(runtime).id
    with runtime.sessions.begin() as session:
        findings.triage(
            session,
            finding_id=fid,
            actor=ALICE,
            now=runtime.now(),
            state="not_affected",
            justification="vulnerable_code_not_in_execute_path",
            comment="we never render markdown",
        )
    with runtime.sessions.begin() as session:
        again = findings.rescan(session, now=runtime.now())
    assert again.reopened == [] and _one(runtime).state == "not_affected"
    runtime.clock.advance(minutes=60)  # type: ignore[attr-defined]
    changed = advisory("GHSA-aaaa", "mistune", aliases=("CVE-2026-1",), fixed="2.0.5", modified="2026-02-01T00:00:00Z")
    write_advisories(tmp_path / "adv", changed)
    with runtime.sessions.begin() as session:
        sync = store.sync_advisories(session, runtime=runtime, now=runtime.now(), source=str(tmp_path / "adv"))
        assert (sync.imported, sync.unchanged) == (1, 0)
        findings.rescan(session, now=runtime.now())
    reopened = _one(runtime)
    assert reopened.state == "new" and reopened.reopen_reason == "the advisory's affected versions changed"
    with runtime.sessions() as session:
        entries = audit.list_entries(session, object_type="VulnFinding", object_id=fid)
    assert [e.action for e in reversed(entries)] == ["triage", "reopen"]
    with runtime.sessions() as session:
        titles = [e.title for e in timeline.list_events(session, kinds=["finding"], services=["jobs-api"])]
    assert titles[:2] == [
        "GHSA-aaaa in mistune 2.0.2 (jobs-api): not_affected -> new (the advisory's affected versions changed)",
        "GHSA-aaaa in mistune 2.0.2 (jobs-api): new -> not_affected (we never render markdown)",
    ]
    assert (
        entries[-1].actor == "alice@jobs.example"
        and entries[-1].after["justification"] == "vulnerable_code_not_in_execute_path"
    )


def test_finding_is_fixed_when_the_component_is_upgraded_and_reopens_on_downgrade(
    runtime: Runtime, tmp_path: Path
) -> None:
    repos = _setup(runtime, tmp_path)
    write_repos(repos, mistune="2.0.3")
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
        result = findings.rescan(session, now=runtime.now())
    assert len(result.fixed) == 1
    fixed = _one(runtime)
    assert fixed.state == "fixed" and fixed.closed_by_scan
    write_repos(repos, mistune="2.0.2")
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
        findings.rescan(session, now=runtime.now())
    back = _one(runtime)
    assert back.id == fixed.id and back.state == "new" and back.reopen_reason == "the component matches again"


def test_risk_acceptance_needs_an_expiry_and_comes_back_when_it_expires(runtime: Runtime, tmp_path: Path) -> None:
    _setup(runtime, tmp_path)
    fid = _one(runtime).id
    with runtime.sessions.begin() as session:
        with pytest.raises(ValidationFailed, match="needs an expiry"):
            findings.triage(session, finding_id=fid, actor=ALICE, now=runtime.now(), state="risk_accepted")
        findings.triage(
            session,
            finding_id=fid,
            actor=ALICE,
            now=runtime.now(),
            state="risk_accepted",
            accepted_until=runtime.now() + timedelta(days=2),
        )
    with runtime.sessions.begin() as session:
        assert findings.rescan(session, now=runtime.now()).reopened == []
    runtime.clock.advance(minutes=3 * 24 * 60)  # type: ignore[attr-defined]
    with runtime.sessions.begin() as session:
        assert len(findings.rescan(session, now=runtime.now()).reopened) == 1
    assert _one(runtime).reopen_reason == "risk acceptance expired on 2026-11-30"


@pytest.mark.parametrize(
    ("state", "kwargs", "error", "message"),
    [
        ("not_affected", {}, ValidationFailed, "needs a VEX justification"),
        ("not_affected", {"justification": "because"}, ValidationFailed, "needs a VEX justification"),
        ("new", {}, InvalidInput, "cannot be set back to 'new'"),
        ("done", {}, InvalidInput, "unknown state 'done'"),
    ],
)
def test_triage_refuses_incomplete_decisions(
    runtime: Runtime, tmp_path: Path, state: str, kwargs: dict[str, str], error: type[Exception], message: str
) -> None:
    _setup(runtime, tmp_path)
    fid = _one(runtime).id
    with runtime.sessions.begin() as session, pytest.raises(error, match=message):
        findings.triage(session, finding_id=fid, actor=ALICE, now=runtime.now(), state=state, **kwargs)  # type: ignore[arg-type]
    assert _one(runtime).state == "new"


def test_assignee_and_comments_are_kept_and_audited(runtime: Runtime, tmp_path: Path) -> None:
    _setup(runtime, tmp_path)
    fid = _one(runtime).id
    with runtime.sessions.begin() as session:
        findings.triage(session, finding_id=fid, actor=ALICE, now=runtime.now(), assignee="bob@jobs.example")
        findings.add_comment(session, finding_id=fid, actor=ALICE, now=runtime.now(), body="looking")
    with runtime.sessions() as session:
        f = queries.get_finding(session, fid)
        assert f.assignee == "bob@jobs.example" and [c.body for c in f.comments] == ["looking"]
        assert audit.list_entries(session, object_id=fid)[0].after["assignee"] == "bob@jobs.example"


def test_withdrawn_records_are_dropped_and_incremental_sync_skips_unmodified(runtime: Runtime, tmp_path: Path) -> None:
    adv = write_advisories(tmp_path / "adv", advisory("GHSA-aaaa", "mistune"), advisory("GHSA-bbbb", "flask"))
    (tmp_path / "adv" / "broken.json").write_text('{"id": "X", "modified": "yesterday"}')
    with runtime.sessions.begin() as session:
        first = store.sync_advisories(session, runtime=runtime, now=runtime.now(), source=str(adv))
    assert (first.imported, first.invalid) == (2, 1)
    write_advisories(
        adv, advisory("GHSA-bbbb", "flask", modified="2026-03-01T00:00:00Z", withdrawn="2026-03-01T00:00:00Z")
    )
    with runtime.sessions.begin() as session:
        second = store.sync_advisories(session, runtime=runtime, now=runtime.now(), source=str(adv))
        ids = set(session.scalars(select(VulnAdvisory.id)))
        state = session.get(VulnSyncState, str(adv))
        assert state is not None and "modified" in (state.last_error or "")
    assert (second.imported, second.unchanged, second.withdrawn) == (0, 1, 1)
    assert ids == {"GHSA-aaaa"}


def test_sync_from_a_url_reads_zip_exports_and_records_timeouts(make_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("GHSA-aaaa.json", json.dumps(advisory("GHSA-aaaa", "mistune")))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/PyPI/all.zip":
            return httpx.Response(200, content=buf.getvalue())
        raise httpx.ReadTimeout("slow", request=request)

    runtime = make_runtime(http_transport=httpx.MockTransport(handler))
    with runtime.sessions.begin() as session:
        ok = store.sync_advisories(session, runtime=runtime, now=runtime.now(), source="https://osv.test/PyPI/all.zip")
        bad = store.sync_advisories(session, runtime=runtime, now=runtime.now(), source="https://osv.test/npm/all.zip")
    assert ok.imported == 1 and ok.error is None
    assert bad.error == "https://osv.test/npm/all.zip: timed out after 60s"
    with runtime.sessions() as session:
        state = session.get(VulnSyncState, "https://osv.test/npm/all.zip")
        assert state is not None and state.last_error == bad.error
        assert session.get(VulnAdvisory, "GHSA-aaaa") is not None


def test_exposure_summary_counts_open_findings_by_priority_age_and_service(runtime: Runtime, tmp_path: Path) -> None:
    _setup(runtime, tmp_path)
    runtime.clock.advance(minutes=40 * 24 * 60)  # type: ignore[attr-defined]
    with runtime.sessions() as session:
        summary = queries.exposure(session, now=runtime.now())
        breaches = queries.sla_breaches(session, now=runtime.now())
    assert summary["open"] == 2 and summary["by_age"]["31-90d"] == 2
    assert summary["by_service"]["jobs-api"] == {"open": 1, "breached": 1}
    assert sorted(str(b.service) for b in breaches) == ["jobs-api", "matching-worker"]
    with runtime.sessions.begin() as session:
        findings.triage(session, finding_id=breaches[0].id, actor=ALICE, now=runtime.now(), state="fixed")
    with runtime.sessions() as session:
        assert len(queries.sla_breaches(session, now=runtime.now())) == 1
        assert queries.exposure(session, now=runtime.now())["open"] == 1


def test_a_due_date_set_by_hand_survives_rescans(runtime: Runtime, tmp_path: Path) -> None:
    _setup(runtime, tmp_path)
    fid = _one(runtime).id
    due = runtime.now() + timedelta(days=3)
    with runtime.sessions.begin() as session:
        findings.triage(session, finding_id=fid, actor=ALICE, now=runtime.now(), due=due)
    with runtime.sessions.begin() as session:
        findings.rescan(session, now=runtime.now())
    assert _one(runtime).due_at == due


def test_the_daily_sync_job_reads_the_policy_sources_relative_to_its_file(runtime: Runtime, tmp_path: Path) -> None:
    seed_services(runtime)
    repos = write_repos(tmp_path / "repos")
    config = tmp_path / "config"
    write_advisories(config / "osv", advisory("GHSA-aaaa", "mistune"))
    (config / "policy.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: VulnerabilityPolicy\nmetadata: {name: default}\n"
        "spec: {advisorySources: [osv], slaDays: {P2: 10}}\n"
    )
    manifest.apply(runtime, manifest.load(config, runtime.kinds), actor=Actor(name="t", source="config"))
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
        jobs.enqueue(session, kind=SYNC_JOB, now=runtime.now(), payload={})
    Worker(runtime).run_until_idle()
    api = _one(runtime)
    assert api.advisory_id == "GHSA-aaaa" and api.due_at == runtime.now() + timedelta(days=10)
    with runtime.sessions() as session:
        state = session.get(VulnSyncState, str((config / "osv").resolve()))
        assert state is not None and state.last_error is None  # the periodic run found it unchanged
        assert state.stats["imported"] + state.stats["unchanged"] == 1


def test_without_configured_sources_the_sync_reads_osv_dumps_for_the_inventory_ecosystems(
    make_runtime,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    requested: list[str] = []
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("GHSA-aaaa.json", json.dumps(advisory("GHSA-aaaa", "mistune")))

    def osv(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        if request.url.host == "osv-vulnerabilities.storage.googleapis.com" and request.url.path == "/PyPI/all.zip":
            return httpx.Response(200, content=archive.getvalue())
        return httpx.Response(404)

    runtime = make_runtime(http_transport=httpx.MockTransport(osv))
    seed_services(runtime)
    repos = write_repos(tmp_path / "repos")
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
        assert store.default_sources(session) == ["https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"]
        jobs.enqueue(session, kind=SYNC_JOB, now=runtime.now(), payload={})
    Worker(runtime).run_until_idle()
    # the job enqueued here and the periodic one each fetch OSV's PyPI dump, and nothing else
    assert requested and set(requested) == {"https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"}
    assert _one(runtime).advisory_id == "GHSA-aaaa"
