"""The vulns HTTP API: findings, triage with principals, exposure, SLA breaches, OpenVEX/CycloneDX round trips."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from fastapi.testclient import TestClient

from mamori.core.runtime import Runtime
from mamori.vulns import store
from mamori.vulns.service import findings
from tests.conftest import issue_token
from tests.support import peers
from tests.vulns.helpers import advisory, seed_services, write_advisories, write_repos


def _setup(runtime: Runtime, tmp_path: Path) -> None:
    seed_services(runtime)
    repos = write_repos(tmp_path / "repos")
    adv = write_advisories(tmp_path / "adv", advisory("GHSA-aaaa", "mistune", aliases=("CVE-2026-1",)))
    with runtime.sessions.begin() as session:
        store.record_inventory(session, root=repos, now=runtime.now())
        store.sync_advisories(session, runtime=runtime, now=runtime.now(), source=str(adv))
        findings.rescan(session, now=runtime.now())


def _api_finding(client: TestClient, headers: dict[str, str]) -> dict[str, object]:
    rows = client.get("/api/v1/vulns/findings", params={"service": "jobs-api"}, headers=headers).json()
    assert len(rows) == 1
    return rows[0]  # type: ignore[no-any-return]


def test_findings_list_filters_and_triage_through_the_api(
    client: TestClient, runtime: Runtime, tmp_path: Path, auth_headers: dict[str, str]
) -> None:
    _setup(runtime, tmp_path)
    assert len(client.get("/api/v1/vulns/findings", params={"state": "open"}, headers=auth_headers).json()) == 2
    assert client.get("/api/v1/vulns/findings", params={"priority": "P1"}, headers=auth_headers).json() == []
    f = _api_finding(client, auth_headers)
    bad = client.post(f"/api/v1/vulns/findings/{f['id']}/triage", json={"state": "not_affected"}, headers=auth_headers)
    assert bad.status_code == 422 and "needs a VEX justification" in bad.json()["detail"]
    ok = client.post(
        f"/api/v1/vulns/findings/{f['id']}/triage",
        json={
            "state": "not_affected",
            "justification": "vulnerable_code_not_present",
            "comment": "not used",
            "assignee": "bob@jobs.example",
        },
        headers=auth_headers,
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["state"] == "not_affected" and body["assignee"] == "bob@jobs.example"
    assert body["comments"][0]["body"] == "not used"
    assert (
        client.get("/api/v1/vulns/findings", params={"state": "not_affected"}, headers=auth_headers).json()[0]["id"]
        == f["id"]
    )
    bad_state = client.get("/api/v1/vulns/findings", params={"state": "closed"}, headers=auth_headers)
    assert bad_state.status_code == 400 and "unknown state 'closed'" in bad_state.json()["detail"]
    every = client.get("/api/v1/vulns/findings", params={"state": "all"}, headers=auth_headers)
    assert every.status_code == 200 and f["id"] in {row["id"] for row in every.json()}
    for field, value in (("accepted_until", "2027-01-01T00:00:00"), ("due_at", "2027-01-01T00:00:00")):
        naive = client.post(
            f"/api/v1/vulns/findings/{f['id']}/triage",
            json={"state": "risk_accepted", "accepted_until": "2027-01-01T00:00:00Z", field: value},
            headers=auth_headers,
        )
        assert naive.status_code == 422 and naive.json()["errors"][0]["loc"] == f"body.{field}", naive.text


def test_readers_cannot_triage(
    client: TestClient, runtime: Runtime, tmp_path: Path, auth_headers: dict[str, str]
) -> None:
    _setup(runtime, tmp_path)
    f = _api_finding(client, auth_headers)
    reader = {"Authorization": f"Bearer {issue_token(runtime, 'read', email='carol@jobs.example', role='viewer')}"}
    assert client.get("/api/v1/vulns/exposure", headers=reader).status_code == 200
    denied = client.post(f"/api/v1/vulns/findings/{f['id']}/triage", json={"state": "affected"}, headers=reader)
    assert denied.status_code == 403
    assert client.get("/api/v1/vulns/findings").status_code == 401


def test_exposure_sla_breaches_and_advisory_page(
    client: TestClient, runtime: Runtime, tmp_path: Path, auth_headers: dict[str, str]
) -> None:
    _setup(runtime, tmp_path)
    runtime.clock.advance(minutes=31 * 24 * 60)  # type: ignore[attr-defined]
    summary = client.get("/api/v1/vulns/exposure", headers=auth_headers).json()
    assert summary["by_priority"]["P2"] == 2 and summary["sla_breaches"] == 2
    assert len(client.get("/api/v1/vulns/sla-breaches", headers=auth_headers).json()) == 2
    adv = client.get("/api/v1/vulns/advisories/GHSA-aaaa", headers=auth_headers).json()
    assert adv["aliases"] == ["CVE-2026-1"] and adv["cvss_score"] == 9.8 and len(adv["findings"]) == 2
    assert client.get("/api/v1/vulns/advisories/NOPE", headers=auth_headers).status_code == 404


def test_openvex_export_is_valid_against_the_spec_schema(
    client: TestClient, runtime: Runtime, tmp_path: Path, auth_headers: dict[str, str]
) -> None:
    schema = json.loads(peers("vulns", "openvex-spec", "openvex_json_schema.json").read_text())
    _setup(runtime, tmp_path)
    f = _api_finding(client, auth_headers)
    client.post(
        f"/api/v1/vulns/findings/{f['id']}/triage",
        json={"state": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
        headers=auth_headers,
    )
    doc = client.get("/api/v1/vulns/vex", params={"format": "openvex"}, headers=auth_headers).json()
    jsonschema.validate(doc, schema)
    statuses = {s["status"] for s in doc["statements"]}
    # jobs-api said not_affected, matching-worker is still under investigation: one purl, least settled wins
    assert statuses == {"under_investigation"}
    doc_api = client.get("/api/v1/vulns/vex", params={"service": "jobs-api"}, headers=auth_headers).json()
    assert doc_api["statements"] == [
        {
            "vulnerability": {"name": "GHSA-aaaa", "aliases": ["CVE-2026-1"]},
            "products": [{"@id": "pkg:pypi/mistune@2.0.2", "identifiers": {"purl": "pkg:pypi/mistune@2.0.2"}}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
        }
    ]


def test_vex_import_applies_decisions_by_alias_and_round_trips_cyclonedx(
    client: TestClient, runtime: Runtime, tmp_path: Path, auth_headers: dict[str, str]
) -> None:
    _setup(runtime, tmp_path)
    openvex = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "sec@jobs.example",
        "timestamp": "2026-11-28T10:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2026-1"},
                "products": [{"@id": "pkg:pypi/mistune@2.0.2"}],
                "status": "not_affected",
                "justification": "inline_mitigations_already_exist",
            },
            {"vulnerability": {"name": "CVE-2020-9"}, "products": [{"@id": "pkg:npm/x@1"}], "status": "fixed"},
        ],
    }
    report = client.post("/api/v1/vulns/vex", params={"service": "jobs-api"}, json=openvex, headers=auth_headers).json()
    assert report == {"statements": 2, "applied": 1, "unchanged": 0, "unmatched": ["CVE-2020-9 on pkg:npm/x@1"]}
    assert _api_finding(client, auth_headers)["justification"] == "inline_mitigations_already_exist"
    cdx = client.get(
        "/api/v1/vulns/vex", params={"format": "cyclonedx", "service": "jobs-api"}, headers=auth_headers
    ).json()
    assert cdx["vulnerabilities"][0]["analysis"] == {
        "state": "not_affected",
        "justification": "protected_by_mitigating_control",
    }
    # CycloneDX back in: exploitable -> affected on the worker
    cdx["vulnerabilities"][0]["analysis"] = {"state": "exploitable", "detail": "upgrade next sprint"}
    again = client.post(
        "/api/v1/vulns/vex", params={"service": "matching-worker"}, json=cdx, headers=auth_headers
    ).json()
    assert again["applied"] == 1
    worker = client.get("/api/v1/vulns/findings", params={"service": "matching-worker"}, headers=auth_headers).json()[0]
    assert worker["state"] == "affected"


def test_invalid_vex_documents_are_refused_whole(
    client: TestClient, runtime: Runtime, tmp_path: Path, auth_headers: dict[str, str]
) -> None:
    _setup(runtime, tmp_path)
    doc = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "statements": [
            {
                "vulnerability": {"name": "GHSA-aaaa"},
                "products": [{"@id": "pkg:pypi/mistune@2.0.2"}],
                "status": "fixed",
            },
            {"vulnerability": {"name": "GHSA-aaaa"}, "products": [{"@id": "pkg:pypi/mistune@2.0.2"}], "status": "gone"},
        ],
    }
    bad = client.post("/api/v1/vulns/vex", json=doc, headers=auth_headers)
    assert bad.status_code == 422 and "statements[1].status" in bad.json()["detail"]
    assert client.post("/api/v1/vulns/vex", content=b"{nope", headers=auth_headers).status_code == 400
    assert {f["state"] for f in client.get("/api/v1/vulns/findings", headers=auth_headers).json()} == {"new"}


def test_inventory_is_exported_as_a_cyclonedx_sbom(
    client: TestClient, runtime: Runtime, tmp_path: Path, auth_headers: dict[str, str]
) -> None:
    _setup(runtime, tmp_path)
    bom = client.get("/api/v1/vulns/sbom", params={"service": "jobs-api"}, headers=auth_headers).json()
    assert {c["purl"] for c in bom["components"]} == {"pkg:pypi/mistune@2.0.2", "pkg:pypi/requests@2.31.0"}
    rows = client.get("/api/v1/vulns/components", params={"service": "matching-worker"}, headers=auth_headers).json()
    assert [(r["name"], r["source_file"]) for r in rows] == [("mistune", "matcher/requirements-dev.txt")]
