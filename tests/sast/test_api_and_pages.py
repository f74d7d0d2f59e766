"""The sast HTTP API (upload, findings, history, triage, gate) and the pages, on the demo data."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.demo import DEMO_CONFIG
from mamori.sast import demo
from tests.conftest import issue_token
from tests.sast.helpers import dojo
from tests.web.conftest import Login


def _seed(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_CONFIG, runtime.kinds), actor=Actor(name="demo", source="config"))
    demo.seed(runtime)


def test_upload_through_the_api_needs_the_ingest_scope_and_names_bad_paths(
    client: TestClient, runtime: Runtime
) -> None:
    report = dojo("semgrep", "semgrep_version_1_30_0_line_26.json").read_bytes()
    params = {"repo": "acme/go", "commit": "c1", "branch": "main"}
    reader = {"Authorization": f"Bearer {issue_token(runtime, 'read', email='r@example.com', role='viewer')}"}
    assert client.post("/api/v1/sast/scans", params=params, content=report, headers=reader).status_code == 403
    ingest = {"Authorization": f"Bearer {issue_token(runtime, 'ingest', email='ci@example.com')}"}
    done = client.post("/api/v1/sast/scans", params=params, content=report, headers=ingest)
    assert done.status_code == 201, done.text
    (scan,) = done.json()["scans"]
    assert (scan["tool"], scan["result_count"], scan["counts"]["new"]) == ("semgrep", 5, 5)
    broken = json.loads(report)
    broken["results"][3]["start"]["line"] = -4
    bad = client.post("/api/v1/sast/scans", params=params, content=json.dumps(broken), headers=ingest)
    assert bad.status_code == 400
    assert "results[3].start.line" in bad.text
    scans = client.get("/api/v1/sast/scans", params={"repo": "acme/go"}, headers=reader).json()
    assert len(scans) == 1  # the broken upload stored nothing


def test_finding_history_triage_and_gate_through_the_api(
    client: TestClient, runtime: Runtime, auth_headers: dict[str, str]
) -> None:
    _seed(runtime)
    gate = client.get(
        "/api/v1/sast/gate", params={"repo": demo.REPO, "base": demo.BASE, "head": demo.HEAD}, headers=auth_headers
    ).json()
    assert (gate["passed"], gate["counts"]["blocking"]) == (False, 1)
    finding_id = gate["blocking"][0]["finding_id"]
    detail = client.get(f"/api/v1/sast/findings/{finding_id}", headers=auth_headers).json()
    assert [s["tool"] for s in detail["sources"]] == ["bandit", "semgrep"]
    assert [(h["tool"], h["status"], h["pr"]) for h in detail["history"]] == [
        ("bandit", "new", 42),
        ("semgrep", "new", 42),
    ]
    url = f"/api/v1/sast/findings/{finding_id}/triage"
    refused = client.post(url, json={"state": "false_positive"}, headers=auth_headers)
    assert refused.status_code == 422 and "reason" in refused.text
    stale = client.post(url, json={"state": "confirmed", "version": detail["version"] + 5}, headers=auth_headers)
    assert stale.status_code == 409
    body = {"state": "false_positive", "reason": "blob is signed", "version": detail["version"]}
    decided = client.post(url, json=body, headers=auth_headers).json()
    assert decided["state"] == "false_positive" and decided["triage"][-1]["reason"] == "blob is signed"
    again = client.get(
        "/api/v1/sast/gate", params={"repo": demo.REPO, "base": demo.BASE, "head": demo.HEAD}, headers=auth_headers
    ).json()
    assert again["passed"] is True
    listed = client.get("/api/v1/sast/findings", params={"repo": demo.REPO}, headers=auth_headers).json()
    assert len(listed) == 4


def test_pages_show_repos_findings_history_and_the_gate(client: TestClient, runtime: Runtime, login: Login) -> None:
    _seed(runtime)
    csrf = login()
    overview = client.get("/sast")
    assert overview.status_code == 200 and demo.REPO in overview.text
    repo = client.get(f"/sast/repos/{demo.REPO}")
    assert repo.status_code == 200 and "app/views.py:24" in repo.text and "false_positive" in repo.text
    by_service = client.get("/sast/services/jobs-api")
    assert by_service.status_code == 200 and "app/views.py:24" in by_service.text
    assert "app/views.py" not in client.get("/sast/services/jobs-web").text
    gate = client.get("/sast/gate", params={"repo": demo.REPO, "base": demo.BASE, "head": demo.HEAD})
    assert 'data-verdict="blocked"' in gate.text and "BLOCKS" in gate.text
    assert client.get("/sast/gate", params={"repo": demo.REPO, "base": demo.BASE, "head": "0"}).status_code == 404
    finding_id = gate.text.split('href="/sast/findings/', 1)[1].split('"', 1)[0]
    page = client.get(f"/sast/findings/{finding_id}")
    assert page.status_code == 200 and "pickle.loads(blob)" in page.text and "feature/saved-searches" in page.text
    assert "def load_saved_search(blob):" in page.text  # the code context around the line, from the checkout
    assert "&gt;   24  " in page.text  # the flagged line is marked
    refused = client.post(
        f"/sast/findings/{finding_id}/triage", data={"csrf_token": csrf, "state": "wont_fix", "reason": ""}
    )
    assert refused.status_code == 422 and "a reason is required" in refused.text
    saved = client.post(
        f"/sast/findings/{finding_id}/triage",
        data={"csrf_token": csrf, "state": "accepted_risk", "reason": "admins only", "accepted_until": "2027-01-31"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    after = client.get("/sast/gate", params={"repo": demo.REPO, "base": demo.BASE, "head": demo.HEAD})
    assert 'data-verdict="passed"' in after.text
    assert client.get("/sast/findings/nope").status_code == 404
