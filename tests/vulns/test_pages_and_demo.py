"""Dashboard pages (exposure, triage queue and form, vendors, advisory) and the idempotent demo seed."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.demo import DEMO_CONFIG
from mamori.vulns import demo
from mamori.vulns.models import VulnFeedItem, VulnFinding
from tests.web.conftest import Login


def _seed(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_CONFIG, runtime.kinds), actor=Actor(name="demo", source="config"))
    demo.seed(runtime)


def _counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(VulnFinding)) or 0,
            session.scalar(select(func.count()).select_from(VulnFeedItem)) or 0,
        )


def test_demo_seed_matches_real_advisories_and_is_idempotent(runtime: Runtime) -> None:
    _seed(runtime)
    with runtime.sessions() as session:
        rows = session.scalars(select(VulnFinding).order_by(VulnFinding.key)).all()
        advisory = {(f.service, f.package, f.advisory_id) for f in rows if f.kind == "advisory"}
        vendor = [(f.vendor, f.title) for f in rows if f.kind == "vendor"]
        minimist = next(f for f in rows if f.package == "minimist")
        assert (
            minimist.dev is True
            and minimist.direct is False
            and "development dependency only" in minimist.priority_reasons
        )
    assert advisory == {
        ("jobs-web", "rack", "GHSA-wq4h-7r42-5hrr"),
        ("jobs-web", "lodash", "GHSA-35jh-r3h4-6jhm"),
        ("jobs-web", "minimist", "GHSA-xvch-5gv4-984h"),
        ("jobs-api", "PyYAML", "GHSA-8q59-q68h-6hv4"),
        ("jobs-api", "Jinja2", "GHSA-h5c8-rqwp-cp95"),
        ("jobs-api", "requests", "GHSA-j8r2-6x86-q33q"),
    }
    assert vendor == [("slack", "slack: Attackers stole OAuth tokens from a Slack integration marketplace app")]
    before = _counts(runtime)
    demo.seed(runtime)
    assert _counts(runtime) == before == (7, 2)


def test_pages_show_exposure_queue_vendors_and_advisory(client: TestClient, runtime: Runtime, login: Login) -> None:
    _seed(runtime)
    login()
    overview = client.get("/vulns")
    assert overview.status_code == 200 and "7 open findings" in overview.text and "Vulnerabilities" in overview.text
    queue = client.get("/vulns/findings", params={"state": "open", "service": "jobs-api"})
    assert queue.status_code == 200 and "GHSA-8q59-q68h-6hv4 in PyYAML 5.3.1 (jobs-api)" in queue.text
    p3 = client.get("/vulns/findings", params={"state": "open", "priority": "P3"})
    assert "minimist" in p3.text and "PyYAML" not in p3.text
    vendors = client.get("/vulns/vendors")
    assert "Attackers stole OAuth tokens" in vendors.text and "mamori-bot" in vendors.text
    advisory = client.get("/vulns/advisories/GHSA-j8r2-6x86-q33q")
    assert advisory.status_code == 200 and "CVE-2023-32681" in advisory.text and "0.065" in advisory.text
    services = client.get("/services")
    assert "Open findings" in services.text and re.search(r"3 open \(worst P\d\)", services.text)


def test_triage_form_records_decisions_and_shows_errors(client: TestClient, runtime: Runtime, login: Login) -> None:
    _seed(runtime)
    csrf = login(email="editor@example.com", role="editor")
    with runtime.sessions() as session:
        fid = session.scalar(select(VulnFinding.id).where(VulnFinding.package == "Jinja2"))
    page = client.get(f"/vulns/findings/{fid}")
    assert 'name="csrf_token"' in page.text
    missing = client.post(f"/vulns/findings/{fid}/triage", data={"csrf_token": csrf, "state": "not_affected"})
    assert missing.status_code == 422 and "needs a VEX justification" in missing.text
    done = client.post(
        f"/vulns/findings/{fid}/triage",
        data={
            "csrf_token": csrf,
            "state": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
            "comment": "xmlattr is never used",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = client.get(f"/vulns/findings/{fid}").text
    assert "vulnerable_code_not_in_execute_path" in shown and "xmlattr is never used" in shown
    no_csrf = client.post(f"/vulns/findings/{fid}/triage", data={"state": "fixed"})
    assert no_csrf.status_code == 403
