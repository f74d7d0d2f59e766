"""Tickets by policy: one GitHub issue per finding that reaches a rule's priority, logged as a delivery."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from mamori.core import jobs, manifest
from mamori.core.audit import Actor
from mamori.core.models import Delivery
from mamori.core.worker import Worker
from mamori.findings.jobs import DIGEST_JOB
from mamori.findings.models import FindingRow
from mamori.findings.service import intake
from tests.conftest import RuntimeFactory
from tests.findings.conftest import dojo

POLICY = """apiVersion: mamori.dev/v1
kind: FindingsPolicy
metadata: {name: default}
spec:
  tickets:
    - {type: github, repository: jobs-example/security, priorities: [P3], tools: [guardduty], labels: [security]}
"""


def test_one_issue_per_matching_finding_and_none_twice(make_runtime: RuntimeFactory, tmp_path: Path) -> None:
    created: list[dict[str, object]] = []

    def github(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=[])
        body = json.loads(request.content)
        created.append(body)
        n = len(created)
        return httpx.Response(
            201, json={"number": n, "html_url": f"https://github.com/jobs-example/security/issues/{n}"}
        )

    runtime = make_runtime(http_transport=httpx.MockTransport(github), github_token="t0ken")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "policy.yaml").write_text(POLICY)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="test", source="config"))
    payload = dojo("awssecurityhub", "guardduty.json").read_bytes()
    for _ in range(2):
        with runtime.sessions.begin() as session:
            intake.import_payload(session, payload=payload, now=runtime.now(), actor="test")
        Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        rows = session.scalars(select(FindingRow)).all()
        p3 = [f for f in rows if f.priority == "P3"]
        assert p3, "the MEDIUM GuardDuty findings rank P3"
        assert len(created) == len(p3)
        assert all(f.ticket and f.ticket.startswith("jobs-example/security#") for f in p3)
        assert all(f.ticket is None for f in rows if f.priority != "P3")
        logged = session.scalars(select(Delivery).where(Delivery.source == "findings")).all()
        assert [(d.kind, d.channel, d.ok) for d in logged] == [("ticket", "github", True)] * len(p3)
    assert all("mamori-finding-" in str(b["labels"]) for b in created)


def test_the_weekly_digest_lists_sla_breaches_and_reaches_the_webhook(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    received: list[dict[str, object]] = []

    def hook(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(200)

    runtime = make_runtime(http_transport=httpx.MockTransport(hook))
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "policy.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FindingsPolicy\nmetadata: {name: default}\nspec:\n"
        "  slaDays: {P3: 1}\n  digest: {webhook: 'https://hooks.jobs.example/security'}\n"
    )
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="test", source="config"))
    with runtime.sessions.begin() as session:
        intake.import_payload(
            session, payload=dojo("awssecurityhub", "guardduty.json").read_bytes(), now=runtime.now(), actor="t"
        )
    runtime.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    with runtime.sessions.begin() as session:
        jobs.enqueue(session, kind=DIGEST_JOB, now=runtime.now())
    Worker(runtime).run_until_idle()
    assert received, "the digest was posted"
    body = received[-1]
    with runtime.sessions() as session:
        p3 = session.scalars(select(FindingRow).where(FindingRow.priority == "P3")).all()
        logged = session.scalars(select(Delivery).where(Delivery.kind == "digest", Delivery.source == "findings")).all()
    assert {o["id"] for o in body["overdue"]} == {f.id for f in p3}  # type: ignore[union-attr]
    assert "SLA breached" in str(body["text"]) and logged and all(d.ok for d in logged)


def test_a_finding_whose_priority_rises_into_a_rule_gets_its_ticket(
    make_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    created: list[str] = []

    def github(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=[])
        created.append(json.loads(request.content)["title"])
        return httpx.Response(201, json={"number": len(created), "html_url": "https://github.com/o/r/issues/1"})

    runtime = make_runtime(http_transport=httpx.MockTransport(github), github_token="t0ken")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "policy.yaml").write_text(POLICY.replace("priorities: [P3]", "priorities: [P1, P2]"))
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="test", source="config"))
    doc = json.loads(dojo("awssecurityhub", "guardduty.json").read_text())
    with runtime.sessions.begin() as session:
        intake.import_payload(session, payload=json.dumps(doc).encode(), now=runtime.now(), actor="t")
    Worker(runtime).run_until_idle()
    assert created == []
    doc["Findings"][0]["Severity"] = {"Label": "CRITICAL", "Normalized": 90}
    doc["Findings"][0]["UpdatedAt"] = "2024-02-01T00:00:00Z"
    with runtime.sessions.begin() as session:
        intake.import_payload(session, payload=json.dumps(doc).encode(), now=runtime.now(), actor="t")
    Worker(runtime).run_until_idle()
    assert len(created) == 1 and created[0].startswith("[P2]")
