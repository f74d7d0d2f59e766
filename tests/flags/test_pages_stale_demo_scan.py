"""Dashboard pages, stale flags, demo data and `mamori flags scan-code`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.flags import counts, rollouts, scan, service, serving, slots, stale
from mamori.flags.demo import seed_demo
from mamori.flags.models import FlagRamp


def test_environment_page_lists_flags_and_its_forms_change_them(
    flags_runtime: Runtime, client: TestClient, auth_headers: dict[str, str]
) -> None:
    assert client.get("/flags", headers=auth_headers, follow_redirects=False).status_code == 303
    page = client.get("/flags/staging", headers=auth_headers)
    assert page.status_code == 200
    assert 'id="flag-new-search"' in page.text and "ends_with" in page.text
    done = client.post(
        "/flags/staging/page-size/rollout", data={"percent": "40"}, headers=auth_headers, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/flags/staging?notice=saved"
    bad = client.post("/flags/staging/page-size/targeting", data={"targeting": "{nope"}, headers=auth_headers)
    assert bad.status_code == 422 and "not valid JSON" in bad.text
    no_reason = client.post("/flags/production/page-size/toggle", data={"enabled": "false"}, headers=auth_headers)
    assert no_reason.status_code == 422 and "reason is required" in no_reason.text
    with flags_runtime.sessions() as session:
        assert rollouts.rollout_percent(service.get_flag(session, environment="staging", key="page-size")) == 40
        assert service.get_flag(session, environment="production", key="page-size")["state"] == "ENABLED"


def test_stale_flags_are_unused_ones_and_ones_fully_on_everywhere(flags_runtime: Runtime, clock: FixedClock) -> None:
    with flags_runtime.sessions.begin() as session:
        tally = counts.EvaluationCounter()
        tally.add("production", "checkout-theme", "light")
        counts.record(session, tally.drain(), now=clock.now())
    clock.advance(minutes=31 * 24 * 60)
    with flags_runtime.sessions.begin() as session:
        tally.add("production", "page-size", "small")
        counts.record(session, tally.drain(), now=clock.now())
        for env in ("staging", "production"):
            service.set_rollout(
                session,
                environment=env,
                key="new-search",
                percent=100,
                actor=service.Actor.system("t"),
                reason="done",
                now=clock.now() - timedelta(days=40),
            )
        found = {s["key"]: s["reasons"] for s in stale.find_stale(session, days=30, now=clock.now())}
    assert "not evaluated for 30 days" in found["checkout-theme"]
    assert "page-size" not in found
    assert "fully on in every environment for 30 days" in found["new-search"]


def test_demo_data_is_idempotent_and_has_a_guarded_ramp_mid_way(runtime: Runtime, clock: FixedClock) -> None:
    seed_demo(runtime)
    seed_demo(runtime)
    with runtime.sessions() as session:
        ramp = session.scalars(select(FlagRamp)).one()
        assert (ramp.steps[ramp.step_index], ramp.status, ramp.service, ramp.guard) == (
            25,
            "running",
            "jobs-web",
            "revert",
        )
        assert rollouts.rollout_percent(service.get_flag(session, environment="production", key="new-search")) == 25
        assert {r.environment for r in serving.list_environments(session)} == {"staging", "production"}
    clock.advance(minutes=24 * 60 + 1)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        assert rollouts.rollout_percent(service.get_flag(session, environment="production", key="new-search")) == 50


RUBY = """
client = OpenFeature::SDK.build_client
if client.fetch_boolean_value(flag_key: "new-search", default_value: false)
  puts Flipper.enabled?(:salary_filter)
end
"""
TSX = """
const size = await client.getNumberValue('page-size', 20, ctx);
const on = useBooleanFlagValue("apply-button", false);
"""
PY = """
if client.get_boolean_value("new-search", False, ctx):
    theme = client.get_string_details(flag_key="checkout-theme", default_value="light")
"""


def test_scan_code_finds_flag_keys_in_ruby_typescript_and_python(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "search.rb").write_text(RUBY, encoding="utf-8")
    (tmp_path / "web.tsx").write_text(TSX, encoding="utf-8")
    (tmp_path / "svc.py").write_text(PY, encoding="utf-8")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text("getBooleanValue('vendored', false)", encoding="utf-8")
    refs = scan.scan_tree(tmp_path)
    assert sorted({r.key for r in refs}) == [
        "apply-button",
        "checkout-theme",
        "new-search",
        "page-size",
        "salary_filter",
    ]
    assert any(r.file == "app/search.rb" and r.line == 3 for r in refs)
    flagd = tmp_path / "flags.json"
    flagd.write_text(
        json.dumps(
            {
                "flags": {
                    k: {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a"}
                    for k in ("new-search", "page-size", "old-flag")
                }
            }
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["flags", "scan-code", str(tmp_path), "--flags", str(flagd)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["unused_flags"] == ["old-flag"]
    assert report["unknown_flags"] == ["apply-button", "checkout-theme", "salary_filter"]


def test_catalog_slot_shows_flag_sets_and_ramps_per_service(runtime: Runtime) -> None:
    seed_demo(runtime)
    with runtime.sessions() as session:
        shown = slots.render(session, ["jobs-web", "jobs-api"], runtime.now())
    assert shown == {"jobs-web": "production: 6 flags · staging: 6 flags · new-search 25% (running)"}


def test_daily_job_marks_stale_flags_once_on_the_timeline_and_on_the_page(
    flags_runtime: Runtime, clock: FixedClock, client: TestClient, auth_headers: dict[str, str]
) -> None:
    from mamori.core.models import PeriodicJob, TimelineEvent

    with flags_runtime.sessions() as session:
        periodic = session.get(PeriodicJob, "flags-mark-stale")
        assert periodic is not None and periodic.interval_seconds == 24 * 3600
    Worker(flags_runtime).run_until_idle()
    with flags_runtime.sessions() as session:
        assert stale.marks(session) == {}  # nothing is 30 days old yet
    clock.advance(minutes=31 * 24 * 60)
    with flags_runtime.sessions.begin() as session:
        tally = counts.EvaluationCounter()
        tally.add("production", "page-size", "small")
        counts.record(session, tally.drain(), now=clock.now())
    Worker(flags_runtime).run_until_idle()

    def stale_events() -> list[str]:
        with flags_runtime.sessions() as session:
            rows = session.scalars(select(TimelineEvent).where(TimelineEvent.source == "flags")).all()
            return sorted(e.title for e in rows if " is stale: " in e.title)

    with flags_runtime.sessions() as session:
        marked = stale.marks(session)
    assert "checkout-theme" in marked and "page-size" not in marked
    assert marked["checkout-theme"].reasons == ["not evaluated for 30 days"]
    assert "flag checkout-theme is stale: not evaluated for 30 days" in stale_events()
    first = stale_events()
    page = client.get("/flags/production", headers=auth_headers).text
    assert "stale: not evaluated for 30 days" in page.split('id="flag-checkout-theme"')[1].split("</tr>")[0]
    assert "stale" not in page.split('id="flag-page-size"')[1].split("</tr>")[0]

    # The next day's run adds no second entry for a flag that stays stale; an evaluated flag is unmarked.
    with flags_runtime.sessions.begin() as session:
        tally.add("staging", "checkout-theme", "light")
        counts.record(session, tally.drain(), now=clock.now())
    clock.advance(minutes=24 * 60 + 1)
    Worker(flags_runtime).run_until_idle()
    assert stale_events() == first
    with flags_runtime.sessions() as session:
        assert "checkout-theme" not in stale.marks(session)


def test_a_falsy_targeting_is_refused_not_taken_as_removing_it(
    flags_runtime: Runtime, client: TestClient, auth_headers: dict[str, str]
) -> None:
    for text in ("false", "[]", "0"):
        refused = client.post("/flags/staging/new-search/targeting", data={"targeting": text}, headers=auth_headers)
        assert refused.status_code == 422, text
    with flags_runtime.sessions() as session:
        assert "targeting" in service.get_flag(session, environment="staging", key="new-search")
    cleared = client.post(
        "/flags/staging/new-search/targeting", data={"targeting": " "}, headers=auth_headers, follow_redirects=False
    )
    assert cleared.status_code == 303, cleared.text[-600:]
    with flags_runtime.sessions() as session:
        assert "targeting" not in service.get_flag(session, environment="staging", key="new-search")
