"""Configuration as code: validation errors, all-or-nothing apply, idempotence, audit, prune."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from mamori.core import audit, auth, manifest
from mamori.core.audit import Actor
from mamori.core.errors import NotFound, ValidationFailed
from mamori.core.models import AuditEntry, Service, Team
from mamori.core.runtime import Runtime

USER_EXAMPLE = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: alice}
spec:
  email: alice@example.com
  name: Alice
  timeZone: Europe/Berlin
  contacts:
    - {type: email, address: alice@example.com}
    - {type: slack, user: U024BE7LH}
    - {type: webhook, url: "https://hooks.example/alice"}
"""

TEAM_AND_SERVICE = """\
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: backend}
spec:
  members: [{user: alice@example.com, role: admin}]
---
apiVersion: mamori.dev/v1
kind: Service
metadata: {name: jobs-api}
spec:
  owner: backend
  tier: 1
  repository: https://github.com/example/jobs-api
  links: [{title: Runbook, url: "https://wiki.example/jobs-api"}]
"""

CONFIG = Actor(name="config", source="config")


def write(tmp_path: Path, **files: str) -> Path:
    root = tmp_path / "config"
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def problems_of(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [p.render() for p in exc.value.problems]


def test_the_issue_user_example_is_accepted_as_written(runtime: Runtime, tmp_path: Path) -> None:
    root = write(tmp_path, **{"users.yaml": USER_EXAMPLE})
    report = manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG)
    assert report.created == ["User/alice"]
    with runtime.sessions() as session:
        user = auth.get_user(session, "alice@example.com")
        assert user.handle == "alice"
        assert user.time_zone == "Europe/Berlin"
        assert [c["type"] for c in user.contacts] == ["email", "slack", "webhook"]
        assert user.contacts[1]["user"] == "U024BE7LH"


def test_errors_name_file_document_field_and_expectation(runtime: Runtime, tmp_path: Path) -> None:
    bad = (
        USER_EXAMPLE.replace("timeZone: Europe/Berlin", "timeZone: Mars/Olympus").replace(
            "{type: slack, user: U024BE7LH}", "{type: slack}"
        )
        + "  shoeSize: 42\n"
    )
    root = write(tmp_path, **{"users.yaml": bad})
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(root, runtime.kinds)
    rendered = problems_of(exc)
    assert all("users.yaml" in r and "document 1 (User 'alice')" in r for r in rendered)
    assert any("spec.timeZone" in r and "unknown IANA time zone 'Mars/Olympus'" in r for r in rendered)
    assert any("spec.contacts[1]" in r and "needs 'user'" in r for r in rendered)
    assert any("spec.shoeSize: unknown field" in r for r in rendered)


def test_broken_yaml_reports_the_line(runtime: Runtime, tmp_path: Path) -> None:
    root = write(tmp_path, **{"broken.yaml": "apiVersion: mamori.dev/v1\nkind: [User\n"})
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(root, runtime.kinds)
    (problem,) = problems_of(exc)
    assert "broken.yaml" in problem and "line 3" in problem and "invalid YAML" in problem


def test_odd_metadata_is_a_problem_not_a_traceback(runtime: Runtime, tmp_path: Path) -> None:
    cases = {
        "labels: {1: a}": "metadata.labels: expected a mapping of names to strings",
        "labels: [x]": "metadata.labels: expected a mapping of names to strings",
        "displayName: [1, 2]": "metadata.displayName: expected a string",
    }
    for line, message in cases.items():
        bad = USER_EXAMPLE.replace("metadata: {name: alice}", f"metadata:\n  name: alice\n  {line}")
        with pytest.raises(ValidationFailed) as exc:
            manifest.load(write(tmp_path / str(len(line)), **{"users.yaml": bad}), runtime.kinds)
        assert any(message in r for r in problems_of(exc)), (line, problems_of(exc))
    looped = (  # a YAML anchor that refers to itself, where free-form values are allowed
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: web}\n"
        "spec: {environment: development, flagd: {flags: {t: {state: ENABLED, defaultVariant: a,"
        " variants: {a: &x {k: [*x]}}}}}}\n"
    )
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(write(tmp_path / "loop", **{"f.yaml": looped}), runtime.kinds)
    assert any("spec: cannot be stored: Circular reference" in r for r in problems_of(exc)), problems_of(exc)
    openslo = USER_EXAMPLE.replace("metadata: {name: alice}", "metadata: {name: alice, labels: {team: [a, b]}}")
    assert manifest.load(write(tmp_path / "ok", **{"users.yaml": openslo}), runtime.kinds).documents


def test_one_person_twice_is_refused_as_two_users_or_two_team_members(runtime: Runtime, tmp_path: Path) -> None:
    twin = USER_EXAMPLE.replace("name: alice}", "name: alice2}").replace("email: alice@", "email: Alice@")
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(write(tmp_path / "u", **{"users.yaml": USER_EXAMPLE + "---\n" + twin}), runtime.kinds)
    assert any("spec.email: 'Alice@example.com' is already the email of User 'alice'" in r for r in problems_of(exc))
    team = TEAM_AND_SERVICE.replace(
        "members: [{user: alice@example.com, role: admin}]", "members: [{user: alice@example.com}, {user: alice}]"
    )
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(write(tmp_path / "t", **{"users.yaml": USER_EXAMPLE, "org.yaml": team}), runtime.kinds)
    assert any("spec.members[1].user: 'alice' is already member 0 of the team" in r for r in problems_of(exc))


def test_unknown_kind_and_dangling_reference_are_refused(runtime: Runtime, tmp_path: Path) -> None:
    root = write(
        tmp_path,
        **{
            "a.yaml": "apiVersion: mamori.dev/v1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n",
        },
    )
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(root, runtime.kinds)
    assert "unknown kind mamori.dev/v1/Widget" in problems_of(exc)[0]
    root = write(tmp_path / "b", **{"svc.yaml": TEAM_AND_SERVICE.split("---\n")[1]})
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(root, runtime.kinds)
    assert "spec.owner: no Team 'backend' is declared" in problems_of(exc)[0]


def test_apply_is_idempotent_and_audited(runtime: Runtime, tmp_path: Path) -> None:
    root = write(tmp_path, **{"users.yaml": USER_EXAMPLE, "org.yaml": TEAM_AND_SERVICE})
    first = manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG)
    assert sorted(first.created) == ["Service/jobs-api", "Team/backend", "User/alice"]
    second = manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG)
    assert second.created == [] and second.updated == [] and len(second.unchanged) == 3
    with runtime.sessions() as session:
        entries = audit.list_entries(session, source="config")
        assert len(entries) == 3
        service = session.scalar(select(Service).where(Service.name == "jobs-api"))
        assert service is not None and service.owner_team is not None and service.owner_team.name == "backend"
    (root / "org.yaml").write_text(TEAM_AND_SERVICE.replace("tier: 1", "tier: 2"))
    third = manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG)
    assert third.updated == ["Service/jobs-api"]
    with runtime.sessions() as session:
        (latest,) = audit.list_entries(session, object_type="Service", limit=1)
        assert {"path": "tier", "before": 1, "after": 2} in latest.diff


def test_dry_run_stores_nothing(runtime: Runtime, tmp_path: Path) -> None:
    root = write(tmp_path, **{"users.yaml": USER_EXAMPLE})
    report = manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG, dry_run=True)
    assert report.created == ["User/alice"]
    with runtime.sessions() as session:
        assert auth.find_user(session, "alice@example.com") is None
        assert session.scalars(select(AuditEntry)).all() == []


def test_a_failing_apply_leaves_what_was_stored(runtime: Runtime, tmp_path: Path) -> None:
    root = write(tmp_path, **{"users.yaml": USER_EXAMPLE, "org.yaml": TEAM_AND_SERVICE})
    manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG)
    bundle = manifest.load(root, runtime.kinds)
    bundle.documents[-1].spec = {"tier": 4}  # changed, so apply runs, then the apply hook fails
    bundle.documents[-1].model = None
    with pytest.raises(AttributeError):
        manifest.apply(runtime, bundle, actor=CONFIG)
    with runtime.sessions() as session:
        service = session.scalar(select(Service).where(Service.name == "jobs-api"))
        assert service is not None and service.tier == 1
        assert len(session.scalars(select(AuditEntry)).all()) == 3


def test_a_failure_late_in_apply_undoes_what_was_applied_before_it(runtime: Runtime, tmp_path: Path) -> None:
    root = write(tmp_path, **{"users.yaml": USER_EXAMPLE, "org.yaml": TEAM_AND_SERVICE})
    manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG)
    write(tmp_path, **{"users.yaml": USER_EXAMPLE.replace("name: Alice", "name: Alice Changed")})
    write(tmp_path, **{"org.yaml": TEAM_AND_SERVICE.replace("tier: 1", "tier: 2")})
    bundle = manifest.load(root, runtime.kinds)
    service_doc = bundle.get("Service", "jobs-api")
    assert service_doc is not None
    service_doc.model = None  # the Service, applied after the User, now fails in its apply hook
    with pytest.raises(AttributeError):
        manifest.apply(runtime, bundle, actor=CONFIG)
    with runtime.sessions() as session:
        user = auth.find_user(session, "alice@example.com")
        assert user is not None and user.name == "Alice", "the User change applied before the failure is undone"
        service = session.scalar(select(Service).where(Service.name == "jobs-api"))
        assert service is not None and service.tier == 1
        assert len(session.scalars(select(AuditEntry)).all()) == 3


def test_prune_removes_only_what_config_created(runtime: Runtime, tmp_path: Path) -> None:
    root = write(tmp_path, **{"users.yaml": USER_EXAMPLE, "org.yaml": TEAM_AND_SERVICE})
    manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG)
    with runtime.sessions.begin() as session:
        session.add(Team(name="made-in-ui", display_name="UI", created_at=runtime.now()))
    (root / "org.yaml").write_text(TEAM_AND_SERVICE.split("---\n", maxsplit=1)[0])
    # the folder holds no Service any more: only a Service named for pruning goes
    report = manifest.apply(
        runtime, manifest.load(root, runtime.kinds), actor=CONFIG, prune=True, prune_kinds=["Service", "Team"]
    )
    assert report.deleted == ["Service/jobs-api"]
    with runtime.sessions() as session:
        assert session.scalar(select(Service).where(Service.name == "jobs-api")) is None
        assert {t.name for t in session.scalars(select(Team))} == {"backend", "made-in-ui"}
        (entry,) = [e for e in audit.list_entries(session) if e.action == "prune"]
        assert entry.object_id == "jobs-api" and entry.after is None


def test_yaml_timestamps_stay_as_written(runtime: Runtime, tmp_path: Path) -> None:
    doc = TEAM_AND_SERVICE.split("---\n", maxsplit=1)[1].replace(
        "  tier: 1\n", "  tier: 1\n  description: 2026-01-05T09:00:00\n"
    )
    root = write(
        tmp_path,
        **{"users.yaml": USER_EXAMPLE, "org.yaml": TEAM_AND_SERVICE.split("---\n", maxsplit=1)[0] + "---\n" + doc},
    )
    bundle = manifest.load(root, runtime.kinds)
    assert bundle.get("Service", "jobs-api").spec["description"] == "2026-01-05T09:00:00"  # type: ignore[union-attr]
    manifest.apply(runtime, bundle, actor=CONFIG)


BOMB = """\
apiVersion: mamori.dev/v1
kind: Team
metadata: {name: bomb}
spec:
  a: &a [x, x, x, x, x, x, x, x, x, x]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BOMB, "expands to more than 200000 values (YAML aliases?)"),
        ("a: &a [1]\nb: [" + ", ".join(["*a"] * 101) + "]\n", "more than 100 aliases"),
        ("a: " + "[" * 70 + "]" * 70 + "\n", "nested deeper than 64 levels"),
    ],
)
def test_yaml_bombs_and_deep_nesting_are_one_line_problems(
    runtime: Runtime, tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(tmp_path, runtime.kinds)
    assert any(message in p.render() for p in exc.value.problems), [p.render() for p in exc.value.problems]


def test_deeply_nested_json_is_a_problem_not_a_crash(runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(tmp_path, runtime.kinds)
    assert any("nested too deeply" in p.render() for p in exc.value.problems)


def test_field_limits_are_refused_at_validate_with_the_field_path(runtime: Runtime, tmp_path: Path) -> None:
    long_email = "a" * 400 + "@example.com"
    docs = {
        "flags.yaml": (
            "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: web}\n"
            "spec: {environment: staging, ofrepRateLimit: {requests: 10, per: 0s}, flagd: {flags: {}}}\n"
        ),
        "policy.yaml": (
            "apiVersion: mamori.dev/v1\nkind: EscalationPolicy\nmetadata: {name: p}\n"
            "spec: {steps: [{notify: {users: [a@example.com]}, escalateAfter: 999999999999999999999999d}]}\n"
        ),
        "user.yaml": (
            f"apiVersion: mamori.dev/v1\nkind: User\nmetadata: {{name: long}}\nspec: {{email: {long_email}, name: L}}\n"
        ),
    }
    for name, text in docs.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ValidationFailed) as exc:
        manifest.load(tmp_path, runtime.kinds)
    rendered = "\n".join(p.render() for p in exc.value.problems)
    assert "ofrepRateLimit.per" in rendered and "longer than zero" in rendered, rendered
    assert "escalateAfter" in rendered and "at most ten years" in rendered, rendered
    assert "spec.email" in rendered and "at most 254 characters" in rendered, rendered


def test_prune_touches_only_the_kinds_the_applied_folder_holds(runtime: Runtime, tmp_path: Path) -> None:
    """Applying a folder of teams with --prune never removes the users another folder declared."""
    users = write(tmp_path / "u", **{"users.yaml": USER_EXAMPLE})
    no_members = TEAM_AND_SERVICE.replace("  members: [{user: alice@example.com, role: admin}]\n", "  members: []\n")
    org = write(tmp_path / "o", **{"org.yaml": no_members})
    manifest.apply(runtime, manifest.load(users, runtime.kinds), actor=CONFIG)
    manifest.apply(runtime, manifest.load(org, runtime.kinds), actor=CONFIG)
    (org / "org.yaml").write_text(no_members.split("---\n", maxsplit=1)[0])
    dry = manifest.apply(runtime, manifest.load(org, runtime.kinds), actor=CONFIG, prune=True, dry_run=True)
    assert dry.deleted == [] and dry.dry_run, "Team is the only kind left in the folder and backend is declared"
    wide = manifest.apply(
        runtime, manifest.load(org, runtime.kinds), actor=CONFIG, prune=True, dry_run=True, prune_kinds=["Service"]
    )
    assert wide.deleted == ["Service/jobs-api"], "the dry run lists what would go"
    with runtime.sessions() as session:
        assert session.scalar(select(Service).where(Service.name == "jobs-api")) is not None, "dry run kept it"
        assert auth.find_user(session, "alice@example.com") is not None


def test_the_last_active_admin_is_never_pruned_or_deleted(runtime: Runtime, tmp_path: Path) -> None:
    admin = USER_EXAMPLE.replace("  name: Alice\n", "  name: Alice\n  role: admin\n")
    root = write(tmp_path, **{"users.yaml": admin, "org.yaml": TEAM_AND_SERVICE})
    manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG)
    with runtime.sessions() as session:
        user = auth.find_user(session, "alice@example.com")
        assert user is not None and user.role == "admin", "the example user must be an admin for this test"
    with pytest.raises(ValidationFailed, match="last active admin"):
        manifest.delete(runtime, kind="User", name="alice", actor=CONFIG)
    with pytest.raises(NotFound, match="'Usr' is not a kind"):
        manifest.delete(runtime, kind="Usr", name="alice", actor=CONFIG)
    report = manifest.delete(runtime, kind="Service", name="jobs-api", actor=CONFIG)
    assert report.deleted == ["Service/jobs-api"]
    with runtime.sessions() as session:
        assert session.scalar(select(Service).where(Service.name == "jobs-api")) is None
        user = auth.find_user(session, "alice@example.com")
        assert user is not None and user.active
        assert next(e.action for e in audit.list_entries(session) if e.object_id == "jobs-api") == "delete"


def test_pruning_an_unknown_kind_is_refused_before_anything_changes(runtime: Runtime, tmp_path: Path) -> None:
    root = write(tmp_path, **{"users.yaml": USER_EXAMPLE})
    with pytest.raises(ValidationFailed, match=r"cannot prune unknown kind\(s\) Servce"):
        manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=CONFIG, prune=True, prune_kinds=["Servce"])
    with runtime.sessions() as session:
        assert auth.find_user(session, "alice@example.com") is None, "the whole apply was refused"
