"""`mamori validate` and `apply` accept references to objects already stored when a database is configured
(and refuse them without one); `validate` warns for every service whose SLOs reach no person."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.cli import app

runner = CliRunner()

FIRST = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: alice}
spec:
  email: alice@jobs.example
  name: Alice
  contacts: [{type: email, address: alice@jobs.example}]
---
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: backend}
spec: {members: [{user: alice}]}
---
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: backend}
spec:
  steps: [{notify: {users: [alice@jobs.example]}, escalateAfter: 5m}]
"""

SECOND = """\
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: jobs-api}
spec: {owner: backend}
---
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: search}
spec: {members: [{user: alice@jobs.example}]}
---
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: production}
spec:
  default: {severity: SEV3, escalationPolicy: backend}
"""

SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: apply-for-job}
spec:
  service: %(service)s
  indicator:
    metadata: {name: apply-availability}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: mamori, spec: {filter: "status < 500"}}}
        total: {metricSource: {type: mamori, spec: {filter: "status >= 0"}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: available, target: 0.99}]
"""


def _dir(root: Path, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / f"{name}.yaml").write_text(text)
    return root


@pytest.fixture
def db_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("MAMORI_DATABASE_URL", database_url)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")


@pytest.fixture
def no_db_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MAMORI_DATABASE_URL", raising=False)
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path / "empty"))  # no mamori.db there: no database configured
    monkeypatch.setenv("MAMORI_SECRET_KEY", "cli-test-secret")


def test_references_to_stored_objects_pass_validate_and_apply_with_a_database(db_env: None, tmp_path: Path) -> None:
    first = _dir(tmp_path / "first", org=FIRST)
    assert runner.invoke(app, ["apply", "--config", str(first)]).exit_code == 0
    second = _dir(tmp_path / "second", more=SECOND)
    checked = runner.invoke(app, ["validate", "--config", str(second)])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["checked_against"] == "files and database"
    applied = runner.invoke(app, ["apply", "--config", str(second)])
    assert applied.exit_code == 0, applied.output

    typo = _dir(tmp_path / "typo", svc=SECOND.replace("owner: backend", "owner: backedn"))
    refused = runner.invoke(app, ["validate", "--config", str(typo)])
    assert refused.exit_code == 2 and "no Team 'backedn' is declared or stored" in refused.output


def test_an_apply_that_prunes_a_kind_does_not_count_what_it_would_prune(db_env: None, tmp_path: Path) -> None:
    assert runner.invoke(app, ["apply", "--config", str(_dir(tmp_path / "first", org=FIRST))]).exit_code == 0
    # This folder holds Teams but not backend: with --prune, backend would go, so jobs-api's owner is unknown.
    second = _dir(tmp_path / "second", more=SECOND)
    pruned = runner.invoke(app, ["apply", "--config", str(second), "--prune-kind", "Team"])
    assert pruned.exit_code == 2 and "no Team 'backend' is declared or stored" in pruned.output
    assert runner.invoke(app, ["apply", "--config", str(second)]).exit_code == 0  # without pruning it is fine


def test_without_a_database_the_same_references_are_problems(no_db_env: None, tmp_path: Path) -> None:
    second = _dir(tmp_path / "second", more=SECOND)
    refused = runner.invoke(app, ["validate", "--config", str(second)])
    assert refused.exit_code == 2
    assert "spec.owner: no Team 'backend' is declared or stored" in refused.output
    assert "no User 'alice@jobs.example' is declared or stored" in refused.output
    assert "no EscalationPolicy named 'backend'" in refused.output


def test_validate_warns_for_every_service_whose_slos_reach_no_person(no_db_env: None, tmp_path: Path) -> None:
    lonely = SECOND.replace("owner: backend", "owner: search").replace(
        "default: {severity: SEV3, escalationPolicy: backend}", "default: {severity: SEV3}"
    )
    folder = _dir(tmp_path / "cfg", org=FIRST, more=lonely, slo=SLO % {"service": "jobs-api"})
    checked = runner.invoke(app, ["validate", "--config", str(folder)])
    assert checked.exit_code == 0, checked.output  # a warning, not a refusal
    body = json.loads(checked.stdout)
    assert body["checked_against"] == "files"
    assert body["warnings"] == [
        "service jobs-api: its SLOs reach no person when they burn (SLO apply-for-job: no AlertRoute slo; "
        "owner team search has no EscalationPolicy (none named search, no AlertRoute sets it))"
    ]
    assert "warning: service jobs-api: its SLOs reach no person" in checked.stderr
    strict = runner.invoke(app, ["validate", "--config", str(folder), "--strict"])
    assert strict.exit_code == 2 and "1 warning(s) and --strict" in strict.output

    reachable = _dir(tmp_path / "ok", org=FIRST, more=SECOND, slo=SLO % {"service": "jobs-api"})
    fine = runner.invoke(app, ["validate", "--config", str(reachable), "--strict"])
    assert fine.exit_code == 0, fine.output
    assert json.loads(fine.stdout)["warnings"] == []

    contactless = FIRST.replace("  contacts: [{type: email, address: alice@jobs.example}]\n", "")
    ghost = _dir(tmp_path / "ghost", org=contactless, more=SECOND, slo=SLO % {"service": "jobs-api"})
    warned = json.loads(runner.invoke(app, ["validate", "--config", str(ghost)]).stdout)["warnings"]
    assert warned and "policy backend names alice@jobs.example, none of them a user with a contact" in warned[0]


SCHEDULE = """\
apiVersion: mamori.dev/v1
kind: Schedule
metadata: {name: primary}
spec:
  timeZone: UTC
  layers:
    - name: weekly
      start: 2026-01-05T09:00:00
      rotation: {type: weekly}
      users: [alice@jobs.example, zoe@jobs.example]
"""


def test_validate_warns_of_an_slo_on_no_service_and_a_schedule_naming_no_user(no_db_env: None, tmp_path: Path) -> None:
    folder = _dir(tmp_path / "cfg", org=FIRST, more=SECOND, slo=SLO % {"service": "checkout"}, schedule=SCHEDULE)
    checked = runner.invoke(app, ["validate", "--config", str(folder)])
    assert checked.exit_code == 0, checked.output
    warnings = json.loads(checked.stdout)["warnings"]
    assert "SLO apply-for-job: service 'checkout' is no declared or stored Service" in warnings
    assert any(
        w.startswith("Schedule primary (") and w.endswith("zoe@jobs.example is no declared or stored User")
        for w in warnings
    )
    assert not any("alice@jobs.example is no" in w for w in warnings)
