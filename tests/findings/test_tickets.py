"""Tickets by policy: one GitHub issue per finding that reaches a rule's priority, logged as a delivery."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.models import Delivery
from mamori.core.worker import Worker
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
