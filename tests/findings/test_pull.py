"""Pulling from the tools' APIs with recorded responses: pagination of GitHub, Snyk and Security Hub."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.models import Delivery
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.findings.kinds import PullSource
from mamori.findings.models import FindingSource
from mamori.findings.service import pull
from mamori.findings.sigv4 import Credentials, sign
from mamori.web.app import create_app
from tests.conftest import RuntimeFactory, issue_token
from tests.findings.conftest import dojo, load
from tests.support import peers

OCTOKIT = ("cloudsec", "octokit+webhooks", "payload-examples", "api.github.com", "dependabot_alert")


def test_sigv4_matches_the_published_example() -> None:
    """AWS's Signature Version 4 test suite, request `get-vanilla`."""
    headers = sign(
        method="GET",
        url="https://example.amazonaws.com/",
        headers={},
        body=b"",
        credentials=Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region="us-east-1",
        service="service",
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )
    assert headers["Authorization"].endswith(
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def _alerts() -> list[dict[str, object]]:
    created = load(peers(*OCTOKIT, "created.payload.json"))["alert"]
    fixed = load(peers(*OCTOKIT, "fixed.payload.json"))["alert"]
    for alert in (created, fixed):
        alert["url"] = f"https://api.github.com/repos/jobs-example/jobs-web/dependabot/alerts/{alert['number']}"
    return [created, fixed]


def test_github_alerts_follow_the_link_header(runtime: Runtime) -> None:
    first, second = _alerts()
    seen: list[str] = []

    def github(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        assert request.headers["Authorization"] == "Bearer t0ken"
        if "after=" not in str(request.url):
            after = "https://api.github.com/repos/jobs-example/jobs-web/dependabot/alerts?per_page=100&after=Y3Vyc29y"
            link = f'<{after}>; rel="next"'
            return httpx.Response(200, json=[first], headers={"Link": link})
        return httpx.Response(200, json=[second])

    source = PullSource(name="web", type="github-dependabot", repository="jobs-example/jobs-web")
    with httpx.Client(transport=httpx.MockTransport(github)) as client, runtime.sessions.begin() as session:
        report = pull.pull(
            session, client, source=source, secrets=pull.Secrets(github_token="t0ken"), now=runtime.now()
        )
    assert len(seen) == 2 and report.created == 2
    with runtime.sessions() as session:
        assert {s.uid for s in session.scalars(select(FindingSource))} == {
            "jobs-example/jobs-web#20",
            "jobs-example/jobs-web#1",
        }


def test_snyk_issues_follow_links_next(runtime: Runtime) -> None:
    page = load(dojo("snyk_issue_api", "snyk_sca_scan_api_many_vuln.json"))
    first = {
        **page,
        "data": page["data"][:3],
        "links": {"next": "/rest/orgs/o1/issues?version=2024-10-15&starting_after=abc"},
    }
    second = {**page, "data": page["data"][3:], "links": {}}

    def snyk(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "token s"
        return httpx.Response(200, json=second if "starting_after" in str(request.url) else first)

    source = PullSource(name="snyk", type="snyk-issues", organization="o1")
    with httpx.Client(transport=httpx.MockTransport(snyk)) as client, runtime.sessions.begin() as session:
        report = pull.pull(session, client, source=source, secrets=pull.Secrets(snyk_token="s"), now=runtime.now())
    assert report.created + report.unchanged == 5 and report.total == 5


def test_securityhub_get_findings_is_signed_and_paged(runtime: Runtime) -> None:
    findings = load(dojo("awssecurityhub", "inspector_ecr.json"))["Findings"]
    bodies: list[dict[str, object]] = []

    def hub(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "securityhub.eu-central-1.amazonaws.com" and request.url.path == "/findings"
        assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/")
        body = json.loads(request.content)
        bodies.append(body)
        if "NextToken" not in body:
            return httpx.Response(200, json={"Findings": findings[:4], "NextToken": "n1"})
        return httpx.Response(200, json={"Findings": findings[4:]})

    source = PullSource(name="hub", type="securityhub", region="eu-central-1")
    with httpx.Client(transport=httpx.MockTransport(hub)) as client, runtime.sessions.begin() as session:
        report = pull.pull(
            session, client, source=source, secrets=pull.Secrets(aws=Credentials("AKID", "secret")), now=runtime.now()
        )
    assert report.created == 7 and [b.get("NextToken") for b in bodies] == [None, "n1"]


def test_the_pull_job_imports_each_source_and_survives_a_failing_one(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    first, second = _alerts()

    def answer(request: httpx.Request) -> httpx.Response:
        if "jobs-web" in str(request.url):
            return httpx.Response(200, json=[first, second])
        return httpx.Response(500, text="boom")

    runtime = make_runtime(http_transport=httpx.MockTransport(answer), github_token="t0ken")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "policy.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FindingsPolicy\nmetadata: {name: default}\nspec:\n  pull:\n"
        "    - {name: web, type: github-dependabot, repository: jobs-example/jobs-web}\n"
        "    - {name: api, type: github-dependabot, repository: jobs-example/jobs-api}\n"
    )
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="test", source="config"))
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(FindingSource)) == 2


def test_a_decision_is_written_back_to_security_hub_on_request(
    make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, str, dict[str, object]]] = []

    def hub(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/")
        body = json.loads(request.content)
        sent.append((request.method, request.url.path, body))
        return httpx.Response(200, json={"ProcessedFindings": body["FindingIdentifiers"], "UnprocessedFindings": []})

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    runtime = make_runtime(http_transport=httpx.MockTransport(hub))
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'write')}"}
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        client.post(
            "/api/v1/findings/imports", content=dojo("awssecurityhub", "guardduty.json").read_bytes(), headers=headers
        )
        f = client.get("/api/v1/findings?severity=LOW", headers=headers).json()[0]
        client.post(f"/api/v1/findings/{f['id']}/triage", json={"state": "false_positive"}, headers=headers)
        queued = client.post(f"/api/v1/findings/{f['id']}/writeback", json={"note": "our scanner"}, headers=headers)
        assert queued.status_code == 202, queued.text
        assert queued.json()["status"] == "SUPPRESSED"
    Worker(runtime).run_until_idle()
    assert len(sent) == 1
    method, path, body = sent[0]
    assert (method, path) == ("PATCH", "/findings/batchupdate")
    assert body["Workflow"] == {"Status": "SUPPRESSED"} and body["Note"]["Text"] == "our scanner"
    assert body["FindingIdentifiers"][0]["ProductArn"] == "arn:aws:securityhub:us-east-1::product/aws/guardduty"
    with runtime.sessions() as session:
        logged = session.scalars(select(Delivery).where(Delivery.channel == "securityhub")).all()
        assert [(d.ok, d.detail) for d in logged] == [(True, "1 finding(s) set to SUPPRESSED")]
