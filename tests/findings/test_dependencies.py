"""Dependabot, snyk and Mamori's own OSV scan: peer counts, and one finding with three sources."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.findings.models import FindingRow, FindingSource
from mamori.findings.parsers import dependabot, snyk
from mamori.vulns import events as vulns_events
from mamori.vulns import store as vulns_store
from mamori.vulns.service import findings as vulns_findings
from tests.findings.conftest import Importer, dojo, load
from tests.support import peers
from tests.vulns.helpers import advisory, seed_services, write_advisories, write_repos

OCTOKIT = ("cloudsec", "octokit+webhooks", "payload-examples", "api.github.com", "dependabot_alert")
# DefectDojo SOURCE.md, github_vulnerability and snyk parser counts
GITHUB = {
    "github-0-vuln.json": 0,
    "github-1-vuln.json": 1,
    "github-5-vuln.json": 5,
    "github_issue2984.json": 4,
    "github_search.json": 2,
    "github_search2.json": 2,
    "github_search3.json": 2,
    "github_search4_null_cvss_vector.json": 2,
    "github_h2.json": 1,
    "github_shiro.json": 1,
    "github-vuln-version.json": 1,
    "github-1-vuln-no-fix.json": 1,
    "github_multi_cwe_fabricated.json": 1,
    "github-1-vuln-repo-dependabot-link.json": 1,
}
SNYK = {
    "single_project_no_vulns.json": 0,
    "all-projects_no_vulns.json": 0,
    "single_project_one_vuln.json": 1,
    "all-projects_one_vuln.json": 1,
    "all-projects_many_vulns.json": 4,
    "single_project_None_cvss.json": 1,
    "snykcontainer_issue_epss.json": 1,
}


@pytest.mark.parametrize("name", sorted(GITHUB))
def test_dependabot_graphql_alert_counts(name: str) -> None:
    batch = dependabot.parse(load(dojo("github_vulnerability", name)))
    assert batch.problems == [] and len(batch.observations) == GITHUB[name]


def test_code_scanning_alerts_are_refused_with_where_they_belong() -> None:
    batch = dependabot.parse(load(dojo("github_vulnerability", "issue_9582.json")))
    assert batch.observations == [] and len(batch.problems) == 2
    assert "code-scanning alert" in batch.problems[0].msg


@pytest.mark.parametrize("name", sorted(SNYK))
def test_snyk_counts_with_the_per_path_repetition_collapsed(name: str) -> None:
    batch = snyk.parse(load(dojo("snyk", name)))
    assert batch.problems == [] and len(batch.observations) == SNYK[name]


def test_one_vulnerability_on_several_paths_is_one_record() -> None:
    doc = load(dojo("snyk", "single_project_one_vuln.json"))
    again = copy.deepcopy(doc["vulnerabilities"][0])
    again["from"] = ["com.test:myframework@1.0.0-SNAPSHOT", "other:lib@1.0", "org.apache.santuario:xmlsec@2.1.1"]
    doc["vulnerabilities"].append(again)
    batch = snyk.parse(doc)
    assert len(batch.observations) == 1 and len(batch.skipped) == 1


def test_snyk_epss_and_issue_api_pages_are_read() -> None:
    container = snyk.parse(load(dojo("snyk", "snykcontainer_issue_epss.json"))).observations[0]
    assert container.epss == 0.00046
    page = snyk.parse_issues(load(dojo("snyk_issue_api", "snyk_sca_scan_api_many_vuln.json")))
    assert page.problems == [] and len(page.observations) == 5


def test_the_dependabot_webhook_lifecycle() -> None:
    created = dependabot.parse(load(peers(*OCTOKIT, "created.payload.json"))).observations[0]
    assert (created.uid, created.advisory, created.package, created.paths, created.status) == (
        "wolfy1339/pika-pack#20",
        "CVE-2022-25883",
        "semver",
        ("package-lock.json",),
        "active",
    )
    fixed = dependabot.parse(load(peers(*OCTOKIT, "fixed.payload.json"))).observations[0]
    assert (fixed.status, fixed.workflow) == ("resolved", "FIXED")


def _policy(tmp_path: Path, runtime: Runtime) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "findings.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FindingsPolicy\nmetadata: {name: default}\nspec:\n"
        "  repositories:\n    - {repository: jobs-example/jobs-web, service: jobs-web}\n"
    )
    manifest.apply(runtime, manifest.load(folder, runtime.kinds), actor=Actor(name="test", source="config"))


def _dependabot(state: str = "open") -> dict[str, Any]:
    doc = load(peers(*OCTOKIT, "created.payload.json"))
    doc["repository"]["full_name"] = "jobs-example/jobs-web"
    doc["alert"]["state"] = state
    doc["alert"]["updated_at"] = "2026-11-28T12:00:00Z" if state == "open" else "2026-11-29T12:00:00Z"
    return dict(doc)


def _snyk() -> dict[str, Any]:
    doc = load(dojo("snyk", "single_project_one_vuln.json"))
    vuln = doc["vulnerabilities"][0]
    vuln.update(
        id="SNYK-JS-SEMVER-3247795",
        packageName="semver",
        version="7.5.1",
        identifiers={"CVE": ["CVE-2022-25883"], "CWE": []},
    )
    doc.update(packageManager="npm", displayTargetFile="package-lock.json", projectName="jobs-web")
    return dict(doc)


def test_dependabot_snyk_and_osv_of_one_problem_are_one_finding_with_three_sources(
    runtime: Runtime, import_doc: Importer, tmp_path: Path
) -> None:
    _policy(tmp_path, runtime)
    assert import_doc(_dependabot()).created == 1
    report = import_doc(_snyk(), name="snyk.json", repository="jobs-example/jobs-web")
    assert report.created == 0, "the snyk issue joins the Dependabot finding"
    with runtime.sessions.begin() as session:
        event = vulns_events.FindingOpened(
            finding_id="v1",
            service="jobs-web",
            ecosystem="npm",
            package="semver",
            version="7.5.1",
            advisory="GHSA-c2qf-rxjj-qqgw",
            aliases=["CVE-2022-25883"],
            locations=["jobs-web/package-lock.json"],
            severity="MEDIUM",
            priority="P3",
            at=runtime.now(),
        )
        runtime.bus.publish(session, event, now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        rows = session.scalars(select(FindingRow)).all()
        assert len(rows) == 1
        f = rows[0]
        assert (f.tools, f.service, f.advisory, f.location) == (
            ["dependabot", "osv", "snyk"],
            "jobs-web",
            "CVE-2022-25883",
            "jobs-web:package-lock.json",
        )
    import_doc(_dependabot("fixed"))
    with runtime.sessions() as session:
        status = {s.tool: s.status for s in session.scalars(select(FindingSource))}
        assert status == {"dependabot": "resolved", "snyk": "active", "osv": "active"}
        assert session.scalars(select(FindingRow.status)).one() == "active", "two tools still report it"
    with runtime.sessions.begin() as session:
        gone = vulns_events.FindingResolved(**event.model_dump(exclude={"event_id"}))
        runtime.bus.publish(session, gone, now=runtime.now())
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        assert {s.tool: s.status for s in session.scalars(select(FindingSource))}["osv"] == "resolved"


def test_a_snyk_run_closes_what_it_no_longer_reports_in_its_own_project_only(
    import_doc: Importer, runtime: Runtime
) -> None:
    one = load(dojo("snyk", "single_project_one_vuln.json"))
    other = copy.deepcopy(one)
    other.update(projectName="com.test:other", displayTargetFile="other/pom.xml")
    assert import_doc(one, repository="jobs-example/jobs-api").created == 1
    assert import_doc(other, repository="jobs-example/jobs-api").created == 1
    clean = {**copy.deepcopy(one), "vulnerabilities": [], "ok": True}
    report = import_doc(clean, repository="jobs-example/jobs-api")
    assert (report.resolved, report.created) == (1, 0)
    with runtime.sessions() as session:
        statuses = sorted(s.status for s in session.scalars(select(FindingSource)))
    assert statuses == ["active", "resolved"], "the other project's run was not re-checked, so it stays open"


def test_kev_and_epss_of_the_osv_scan_rank_the_merged_finding(runtime: Runtime, tmp_path: Path) -> None:
    """End to end: the vulns domain knows the advisory is KEV with EPSS 0.91; its rescan publishes
    FindingOpened, the worker delivers it to this domain, and the queue's risk model uses both."""
    seed_services(runtime)
    kev = json.dumps({"vulnerabilities": [{"cveID": "CVE-2026-1", "vendorProject": "x", "product": "mistune"}]})
    epss = (
        b"#model_version:v2025.03.14,score_date:2026-11-28T00:00:00+0000\ncve,epss,percentile\nCVE-2026-1,0.91,0.99\n"
    )
    repos = write_repos(tmp_path / "repos")
    adv = write_advisories(
        tmp_path / "adv",
        advisory("GHSA-aaaa", "mistune", aliases=("CVE-2026-1",)),
        advisory("GHSA-bbbb", "requests", fixed="2.32.0", aliases=("CVE-2026-2",)),
    )
    with runtime.sessions.begin() as session:
        vulns_store.import_kev(session, payload=kev.encode(), now=runtime.now())
        vulns_store.import_epss(session, payload=epss, now=runtime.now())
        vulns_store.record_inventory(session, root=repos, now=runtime.now())
        vulns_store.sync_advisories(session, runtime=runtime, now=runtime.now(), source=str(adv))
        vulns_findings.rescan(session, now=runtime.now(), bus=runtime.bus)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        rows = {f.package: f for f in session.scalars(select(FindingRow).where(FindingRow.service == "jobs-api"))}
    known, other = rows["mistune"], rows["requests"]
    assert (known.tools, known.advisory, known.kev, known.epss) == (["osv"], "CVE-2026-1", True, pytest.approx(0.91))
    assert known.priority == "P1"
    assert "known exploited (CISA KEV)" in known.priority_reasons
    assert "EPSS 0.91 >= 0.5" in known.priority_reasons
    assert (other.kev, other.epss) == (False, None)
    assert not any("KEV" in r or "EPSS" in r for r in other.priority_reasons)
