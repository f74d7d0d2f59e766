"""The delivery log: every outbound attempt of every domain, delivered or failed, kept and shown."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core import deliveries, jobs, manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.jobs import JobContext, JobKind, NoPayload
from mamori.core.models import Delivery, Job
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.incidents.models import Notification
from mamori.vulns.jobs import DIGEST_JOB
from tests.conftest import RuntimeFactory, issue_token
from tests.incidents.fakes import apply_config, install_fakes
from tests.incidents.test_escalation import fire


def _rows(runtime: Runtime) -> list[Delivery]:
    with runtime.sessions() as session:
        rows = list(session.scalars(select(Delivery).order_by(Delivery.id)))
        session.expunge_all()
        return rows


def test_pages_are_logged_delivered_or_failed_and_a_failure_is_never_a_page_sent(
    runtime: Runtime, clock: FixedClock, tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    fakes = install_fakes(runtime)
    fakes["email"].failures_left = 99  # the mail server is down for good
    group_id = fire(runtime)
    for _ in range(6):
        clock.advance(minutes=1)
        Worker(runtime).run_until_idle()
    rows = [r for r in _rows(runtime) if r.subject == f"incidents:alert_group:{group_id}"]
    webhook = [r for r in rows if r.channel == "webhook"]
    email = [r for r in rows if r.channel == "email"]
    assert webhook and all(r.ok and r.kind == "page" and r.source == "incidents" for r in webhook)
    assert webhook[0].target == "https://hooks.example.com/bob" and webhook[0].detail.startswith("webhook:ok")
    assert email and not any(r.ok for r in email), "every email attempt failed and is logged as failed"
    assert [r.attempt for r in email if r.target == "bob@example.com"][:2] == [1, 2]
    assert "email is down" in email[0].detail
    with runtime.sessions() as session:
        failed_mail = session.scalars(select(Notification).where(Notification.channel == "email")).all()
        assert failed_mail and all(n.status != "sent" for n in failed_mail)


def test_a_failed_attempt_is_kept_even_when_its_job_fails_and_rolls_back(runtime: Runtime) -> None:
    def send_and_fail(ctx: JobContext, payload: NoPayload) -> None:
        deliveries.attempt(
            ctx,
            source="test",
            kind="webhook",
            channel="webhook",
            target="https://x.example",
            subject="t:1",
            ok=False,
            detail="HTTP 503",
        )
        raise RuntimeError("upstream 503")

    runtime.jobs.add(JobKind("test.send_and_fail", NoPayload, send_and_fail))
    with runtime.sessions.begin() as session:
        job_id = jobs.enqueue(session, kind="test.send_and_fail", now=runtime.now(), max_attempts=1).id
    Worker(runtime).run_until_idle()
    rows = _rows(runtime)
    assert [(r.subject, r.ok, r.detail, r.attempt) for r in rows] == [("t:1", False, "HTTP 503", 1)]
    with runtime.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status == "failed"


def test_the_digest_logs_each_target_even_when_every_target_fails(make_runtime: RuntimeFactory, tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502)

    runtime = make_runtime(http_transport=httpx.MockTransport(down), allow_private_webhooks=True)
    (tmp_path / "policy.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: VulnerabilityPolicy\nmetadata: {name: default}\n"
        "spec: {digest: {webhook: 'http://127.0.0.1:9/hook'}}\n"
    )
    manifest.apply(runtime, manifest.load(tmp_path, runtime.kinds), actor=Actor(name="t", source="config"))
    with runtime.sessions.begin() as session:
        jobs.enqueue(session, kind=DIGEST_JOB, now=runtime.now(), max_attempts=1)
    Worker(runtime).run_until_idle()
    rows = [r for r in _rows(runtime) if r.subject == "vulns:digest"]
    with runtime.sessions() as session:
        tries = sum(j.attempts for j in session.scalars(select(Job).where(Job.kind == DIGEST_JOB)))
    # the job enqueued here and the periodic one each failed (and rolled back); every attempt is logged once
    assert (
        tries >= 2
        and [(r.channel, r.target, r.ok) for r in rows] == [("webhook", "http://127.0.0.1:9/hook", False)] * tries
    )
    assert "HTTP 502" in rows[0].detail


def test_the_log_is_listed_in_the_api_and_on_the_admin_and_incident_pages(runtime: Runtime, client: TestClient) -> None:
    with runtime.sessions.begin() as session:
        deliveries.record(
            session,
            at=runtime.now(),
            source="incidents",
            kind="page",
            channel="email",
            target="bob@example.com",
            subject="incidents:alert_group:g1",
            ok=False,
            detail="<b>smtp</b> refused",
        )
        deliveries.record(
            session,
            at=runtime.now(),
            source="slo",
            kind="ticket",
            channel="jira",
            target="OPS",
            subject="slo:slo:checkout",
            ok=True,
            detail="OPS-1",
        )
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'read')}"}
    answer = client.get("/api/v1/deliveries", params={"ok": "false"}, headers=headers)
    assert answer.status_code == 200
    assert [(d["subject"], d["detail"]) for d in answer.json()] == [("incidents:alert_group:g1", "<b>smtp</b> refused")]
    prefixed = client.get("/api/v1/deliveries", params={"subject": "slo:"}, headers=headers).json()
    assert [d["detail"] for d in prefixed] == ["OPS-1"]
    admin = {"Authorization": f"Bearer {issue_token(runtime, 'admin')}", "accept": "text/html"}
    page = client.get("/admin/deliveries", params={"result": "failed"}, headers=admin)
    assert page.status_code == 200 and "bob@example.com" in page.text and "OPS-1" not in page.text
    assert "&lt;b&gt;smtp&lt;/b&gt; refused" in page.text, "details are escaped"
