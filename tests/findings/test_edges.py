"""The edges: API imports and triage (with a stale-version refusal), the CLI, the hooks, pages with demo data."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.demo import DEMO_CONFIG
from mamori.findings import demo, hooks
from mamori.findings.cli import findings_app
from mamori.findings.models import FindingRow, FindingSource
from mamori.vulns import demo as vulns_demo
from tests.conftest import issue_token
from tests.findings.conftest import dojo
from tests.support import peers
from tests.web.conftest import Login, csrf_of


def _bearer(runtime: Runtime, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(runtime, *scopes)}"}


def test_api_import_list_get_and_triage(client: TestClient, runtime: Runtime) -> None:
    headers = _bearer(runtime, "write")
    body = dojo("awssecurityhub", "guardduty.json").read_bytes()
    imported = client.post("/api/v1/findings/imports?name=gd.json", content=body, headers=headers)
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 4 and imported.json()["format"] == "asff"
    listed = client.get("/api/v1/findings?tool=guardduty&severity=LOW", headers=headers).json()
    assert len(listed) == 2 and all(f["tools"] == ["guardduty"] for f in listed)
    one = client.get(f"/api/v1/findings/{listed[0]['id']}", headers=headers).json()
    assert one["sources"][0]["raw"]["Id"] == one["sources"][0]["uid"]
    assert [h["event"] for h in one["history"]] == ["created"]
    assert one["priority_reasons"], "every priority says why"
    done = client.post(
        f"/api/v1/findings/{one['id']}/triage",
        json={"state": "false_positive", "comment": "scanner host", "expected_version": one["version_id"]},
        headers=headers,
    )
    assert done.status_code == 200 and done.json()["state"] == "false_positive"
    stale = client.post(
        f"/api/v1/findings/{one['id']}/triage",
        json={"state": "new", "expected_version": one["version_id"]},
        headers=headers,
    )
    assert stale.status_code == 409
    assert len(client.get("/api/v1/findings", headers=headers).json()) == 3


def test_api_rejects_bad_documents_with_what_is_wrong(client: TestClient, runtime: Runtime) -> None:
    headers = _bearer(runtime, "write")
    bad_json = client.post("/api/v1/findings/imports", content=b"{not json", headers=headers)
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.text
    unknown = client.post("/api/v1/findings/imports", content=b'{"hello": 1}', headers=headers)
    assert unknown.status_code == 400 and "not a document of a known format" in unknown.text
    doc = json.loads(dojo("awssecurityhub", "guardduty.json").read_text())
    doc["Findings"][0]["Severity"] = {"Label": "SEVERE"}
    partial = client.post("/api/v1/findings/imports", json=doc, headers=headers).json()
    assert partial["created"] == 3 and partial["rejected"] == 1
    assert partial["problems"][0].startswith("record 0: Findings[0].Severity.Label: expected one of CRITICAL")
    assert client.post("/api/v1/findings/imports", json=doc, headers=_bearer(runtime, "read")).status_code == 403
    bad_filter = client.get("/api/v1/findings?sla=late", headers=headers)
    assert bad_filter.status_code == 400 and "sla must be overdue or due_soon" in bad_filter.text


def test_cli_parse_offline_and_import_into_the_server(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAMORI_DATABASE_URL", runtime.settings.resolved_database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")
    cli = CliRunner()
    path = dojo("awssecurityhub", "inspector_ec2_cve.json")
    parsed = cli.invoke(findings_app, ["parse", str(path)])
    assert parsed.exit_code == 0, parsed.output
    out = json.loads(parsed.stdout)
    assert out["records"] == 5 and len({f["key"] for f in out["findings"]}) == 2
    imported = cli.invoke(findings_app, ["import", str(path), str(dojo("snyk", "all-projects_many_vulns.json"))])
    assert imported.exit_code == 0, imported.output
    assert [r["created"] for r in json.loads(imported.stdout)] == [2, 4]
    listed = json.loads(cli.invoke(findings_app, ["list", "--tool", "snyk"]).stdout)
    assert len(listed) == 4
    broken = tmp_path / "broken.json"
    doc = json.loads(path.read_text())
    doc["Findings"][4]["UpdatedAt"] = "soon"
    broken.write_text(json.dumps(doc))
    bad = cli.invoke(findings_app, ["import", str(broken)])
    assert bad.exit_code == 2
    assert "record 4: Findings[4].UpdatedAt: expected an ISO 8601 time, got 'soon'" in bad.output
    assert cli.invoke(findings_app, ["parse", str(tmp_path / "missing.json")]).exit_code == 2


def test_eventbridge_hook_takes_an_ingest_token(client: TestClient, runtime: Runtime) -> None:
    record = json.loads(dojo("awssecurityhub", "guardduty.json").read_text())["Findings"][0]
    event = {
        "version": "0",
        "id": "x",
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": "123456789012",
        "region": "us-east-1",
        "detail": {"findings": [record]},
    }
    assert client.post("/hooks/findings/eventbridge", json=event).status_code == 401
    accepted = client.post("/hooks/findings/eventbridge", json=event, headers=_bearer(runtime, "ingest"))
    assert accepted.status_code == 202 and accepted.json()["created"] == 1


def test_github_hook_checks_the_signature(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = peers(
        "cloudsec", "octokit+webhooks", "payload-examples", "api.github.com", "dependabot_alert", "created.payload.json"
    ).read_bytes()
    headers = {"X-GitHub-Event": "dependabot_alert", "Content-Type": "application/json"}
    assert client.post("/hooks/findings/github", content=body, headers=headers).status_code == 503
    monkeypatch.setenv(hooks.GITHUB_SECRET_ENV, "s3cret")
    assert (
        client.post(
            "/hooks/findings/github", content=body, headers={**headers, "X-Hub-Signature-256": "sha256=00"}
        ).status_code
        == 403
    )
    signature = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    accepted = client.post(
        "/hooks/findings/github", content=body, headers={**headers, "X-Hub-Signature-256": signature}
    )
    assert accepted.status_code == 202 and accepted.json()["created"] == 1
    again = client.post("/hooks/findings/github", content=body, headers={**headers, "X-Hub-Signature-256": signature})
    assert again.json()["unchanged"] == 1, "a redelivery changes nothing"


def _seed(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_CONFIG, runtime.kinds), actor=Actor(name="demo", source="config"))
    demo.seed(runtime)


def test_demo_seed_is_idempotent_and_applies_the_suppression_rule(runtime: Runtime) -> None:
    _seed(runtime)
    _seed(runtime)
    with runtime.sessions() as session:
        # 4 Security Hub records, 1 Dependabot alert, 4 CloudTrail detections (root sign-in also without SAML,
        # the security group both changed and opened to the world)
        assert session.scalar(select(func.count()).select_from(FindingSource)) == 9
        rows = {f.control: f for f in session.scalars(select(FindingRow))}
    assert rows["SSM.1"].suppressed_by == "staging-ssm-managed"
    assert (rows["S3.8"].service, rows["S3.8"].team) == ("jobs-web", "frontend")
    assert rows["Recon:EC2/Portscan"].service == "jobs-api"
    assert "internet-facing resource" in rows["Recon:EC2/Portscan"].priority_reasons
    assert {"root-console-login", "security-group-open-to-world"} <= set(rows)


def test_the_demo_dependabot_alert_and_the_vulns_demo_scan_are_one_finding(runtime: Runtime) -> None:
    _seed(runtime)
    vulns_demo.seed(runtime)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        lodash = session.scalars(select(FindingRow).where(FindingRow.package == "lodash")).one()
    assert (lodash.tools, lodash.location, lodash.advisory) == (
        ["dependabot", "osv"],
        "jobs-web:package-lock.json",
        "CVE-2021-23337",
    )


def test_pages_render_the_queue_a_finding_and_the_week(client: TestClient, runtime: Runtime, login: Login) -> None:
    _seed(runtime)
    login()
    queue = client.get("/findings")
    assert queue.status_code == 200
    assert "S3 general purpose buckets should block public access" in queue.text
    assert "EC2 instances should be managed" not in queue.text, "suppressed findings leave the open queue"
    assert 'aria-label="1 open, 0 overdue, 0 due within 7 days"' in queue.text, "the SLA bar of each service"
    assert "EC2 instances should be managed" in client.get("/findings?state=suppressed").text
    assert "outbound port scans" in client.get("/findings?tool=guardduty").text
    with runtime.sessions() as session:
        f = session.scalars(select(FindingRow).where(FindingRow.control == "S3.8")).one()
    page = client.get(f"/findings/{f.id}")
    assert page.status_code == 200 and "jobs-web-uploads" in page.text and "&#34;SecurityControlId&#34;" in page.text
    saved = client.post(
        f"/findings/{f.id}/triage",
        data={
            "state": "under_investigation",
            "assignee": "ada@example.com",
            "version": f.version_id,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "under_investigation" in client.get(f"/findings/{f.id}").text
    week = client.get("/findings/changes")
    assert week.status_code == 200 and "triaged" in week.text


def test_vex_export_states_the_decisions_on_package_findings(client: TestClient, runtime: Runtime) -> None:
    headers = _bearer(runtime, "write")
    client.post(
        "/api/v1/findings/imports", content=dojo("awssecurityhub", "inspector_ecr.json").read_bytes(), headers=headers
    )
    client.post(
        "/api/v1/findings/imports", content=dojo("awssecurityhub", "guardduty.json").read_bytes(), headers=headers
    )
    rows = client.get("/api/v1/findings?kind=vulnerability", headers=headers).json()
    semver = next(f for f in rows if f["package"] == "semver")
    done = client.post(
        f"/api/v1/findings/{semver['id']}/triage",
        json={"state": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    missing = client.post(f"/api/v1/findings/{rows[0]['id']}/triage", json={"state": "not_affected"}, headers=headers)
    assert missing.status_code == 422 and "justification" in missing.text
    doc = client.get("/api/v1/findings/vex", headers=headers).json()
    assert doc["@context"] == "https://openvex.dev/ns/v0.2.0"
    assert len(doc["statements"]) == 7, "the seven image vulnerabilities, not the GuardDuty detections"
    stated = next(s for s in doc["statements"] if s["vulnerability"]["name"] == "CVE-2022-25883")
    assert (stated["status"], stated["justification"]) == ("not_affected", "vulnerable_code_not_in_execute_path")
    assert stated["products"][0]["@id"] == semver["location"]
    assert stated["products"][0]["subcomponents"] == [{"@id": "pkg:npm/semver@7.5.1"}]
