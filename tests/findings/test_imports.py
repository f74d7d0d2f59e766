"""The import service on the test database: one finding per problem, history, triage kept, scope closing."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.findings.models import FindingHistory, FindingRow, FindingSource
from mamori.findings.records import Batch, Observation
from mamori.findings.service import drafts, triage
from mamori.findings.service.imports import import_batch
from tests.findings.conftest import Importer, dojo, load


def _count(runtime: Runtime, model: type) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _snapshot(runtime: Runtime) -> list[tuple[object, ...]]:
    with runtime.sessions() as session:
        rows = session.scalars(select(FindingRow).order_by(FindingRow.key_hash)).all()
        sources = session.scalars(select(FindingSource).order_by(FindingSource.uid_hash)).all()
        return [
            *((f.key, f.status, f.state, f.severity, f.priority, f.version_id, f.last_seen_at) for f in rows),
            *((s.uid, s.status, s.digest, s.last_seen_at) for s in sources),
        ]


def test_every_export_imports_one_finding_per_problem_and_one_source_per_record(
    import_doc: Importer, runtime: Runtime
) -> None:
    report = import_doc(dojo("awssecurityhub", "inspector_ec2_cve.json"))
    assert (report.total, report.created, report.rejected) == (5, 2, 0)
    assert _count(runtime, FindingRow) == 2
    assert _count(runtime, FindingSource) == 5
    guard = import_doc(dojo("awssecurityhub", "guardduty.json"))
    assert guard.created == 4
    with runtime.sessions() as session:
        tools = sorted(session.scalars(select(FindingSource.tool).distinct()))
    assert tools == ["guardduty", "inspector"]


def test_a_repeated_record_in_one_document_is_one_finding(import_doc: Importer, runtime: Runtime) -> None:
    report = import_doc(dojo("awssecurityhub", "config_repeated_findings.json"))
    assert report.created == 1
    assert _count(runtime, FindingSource) == 1


def test_reimport_changes_nothing(import_doc: Importer, runtime: Runtime, clock: FixedClock) -> None:
    for name in ("guardduty.json", "inspector_ecr.json", "config_multiple_resources.json"):
        import_doc(dojo("awssecurityhub", name))
    before, history = _snapshot(runtime), _count(runtime, FindingHistory)
    clock.advance(timedelta(hours=3))
    for name in ("guardduty.json", "inspector_ecr.json", "config_multiple_resources.json"):
        report = import_doc(dojo("awssecurityhub", name))
        assert (report.created, report.updated, report.resolved, report.unchanged) == (0, 0, 0, report.total)
    assert _snapshot(runtime) == before
    assert _count(runtime, FindingHistory) == history


def test_an_update_keeps_history_and_never_resets_triage(
    import_doc: Importer, runtime: Runtime, clock: FixedClock
) -> None:
    doc = load(dojo("awssecurityhub", "guardduty.json"))
    import_doc(doc)
    with runtime.sessions.begin() as session:
        f = session.scalars(select(FindingRow).where(FindingRow.control == "Recon:EC2/Portscan")).one()
        triage.triage(
            session,
            finding_id=f.id,
            actor=Actor(name="ada@example.com", source="ui"),
            now=clock.now(),
            state="under_investigation",
            assignee="ada@example.com",
        )
        finding_id = f.id
    clock.advance(timedelta(hours=1))
    updated = copy.deepcopy(doc)
    record = updated["Findings"][1]
    record["Severity"] = {"Product": 8, "Label": "HIGH", "Normalized": 80}
    record["UpdatedAt"] = "2024-01-18T09:00:00.000Z"
    record["ProductFields"]["aws/guardduty/service/count"] = "140"
    report = import_doc(updated)
    assert (report.updated, report.unchanged) == (1, 3)
    with runtime.sessions() as session:
        f = session.get(FindingRow, finding_id)
        assert f is not None
        assert (f.state, f.assignee, f.severity) == ("under_investigation", "ada@example.com", "HIGH")
        events = session.scalars(
            select(FindingHistory).where(FindingHistory.finding_id == finding_id).order_by(FindingHistory.id)
        ).all()
        assert [h.event for h in events] == ["created", "triaged", "updated"]
        assert events[-1].changes["severity"] == ["MEDIUM", "HIGH"]
        assert events[-1].changes["guardduty.repeat_count"] == [
            int(doc["Findings"][1]["ProductFields"]["aws/guardduty/service/count"]),
            140,
        ]


def test_security_hub_resolution_is_followed_and_a_new_report_reopens(
    import_doc: Importer, runtime: Runtime, clock: FixedClock
) -> None:
    active = load(dojo("awssecurityhub", "config_one_finding_active.json"))
    import_doc(active)
    archived = copy.deepcopy(active)
    archived["findings"][0]["RecordState"] = "ARCHIVED"
    clock.advance(timedelta(days=1))
    assert import_doc(archived).resolved == 1
    with runtime.sessions.begin() as session:
        f = session.scalars(select(FindingRow)).one()
        assert (f.status, f.resolved_at) == ("resolved", clock.now())
        triage.triage(
            session, finding_id=f.id, actor=Actor(name="ada@example.com", source="ui"), now=clock.now(), state="fixed"
        )
    clock.advance(timedelta(days=1))
    assert import_doc(active).reopened == 1
    with runtime.sessions() as session:
        f = session.scalars(select(FindingRow)).one()
        assert (f.status, f.state) == ("active", "new")


def test_a_bad_record_never_drops_the_good_ones(import_doc: Importer, runtime: Runtime) -> None:
    doc = load(dojo("awssecurityhub", "guardduty.json"))
    doc["Findings"][2]["Resources"] = "i-123"
    report = import_doc(doc)
    assert (report.created, report.rejected) == (3, 1)
    assert report.problems == ["record 2: Findings[2].Resources: expected a list, got a string"]
    assert _count(runtime, FindingRow) == 3


def _obs(uid: str, *, region: str, check: str, status: str = "active") -> Observation:
    return Observation(
        tool="prowler",
        format="ocsf",
        uid=uid,
        kind="cloud",
        title=f"{check} on {uid}",
        index=0,
        raw={"uid": uid, "status": status},
        account="111122223333",
        region=region,
        resource=f"res-{uid}",
        control=check,
        status=status,  # type: ignore[arg-type]
        scope=f"prowler|111122223333|{region}|{check}",
    )


def test_a_scan_closes_only_what_its_own_scope_rechecked(runtime: Runtime, clock: FixedClock) -> None:
    first = Batch(
        format="ocsf",
        scan=True,
        observations=[
            _obs("a", region="eu-west-1", check="s3_public"),
            _obs("b", region="eu-west-1", check="iam_mfa"),
            _obs("c", region="us-east-1", check="s3_public"),
        ],
    )
    first.scopes = {o.scope for o in first.observations}
    with runtime.sessions.begin() as session:
        import_batch(session, batch=first, now=clock.now(), actor="test")
    clock.advance(timedelta(days=1))
    # a partial run: only eu-west-1 x s3_public was re-checked, and "a" is gone from it
    partial = Batch(format="ocsf", scan=True, observations=[], scopes={"prowler|111122223333|eu-west-1|s3_public"})
    with runtime.sessions.begin() as session:
        report = import_batch(session, batch=partial, now=clock.now(), actor="test")
    assert report.resolved == 1
    with runtime.sessions() as session:
        status = {r: s for r, s in session.execute(select(FindingRow.resource, FindingRow.status))}
    assert status == {"res-a": "resolved", "res-b": "active", "res-c": "active"}


def test_an_import_racing_a_decision_is_a_conflict_not_a_lost_decision(
    import_doc: Importer, runtime: Runtime, clock: FixedClock
) -> None:
    """The import writes stored findings back only at the version it read: a decision committed in between
    makes the write fail (StaleDataError, a Conflict at the edges) instead of being overwritten."""
    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite takes the write lock at BEGIN: the two transactions cannot interleave")
    import_doc(dojo("awssecurityhub", "config_one_finding_active.json"))
    with runtime.sessions() as reader:
        (finding_id,) = reader.scalars(select(FindingRow.id)).all()
        key_hash = reader.scalars(select(FindingRow.key_hash)).one()
        _, found = drafts.load(reader, [], [key_hash])
        stale = found[key_hash]
        with runtime.sessions.begin() as other:
            triage.triage(
                other, finding_id=finding_id, actor=Actor(name="ada", source="ui"), now=clock.now(), state="fixed"
            )
        stale.severity = "LOW"
        with pytest.raises(StaleDataError, match="1 of 1 findings changed"):
            drafts.write(reader, [stale], [], import_id="x")
        reader.rollback()
    with runtime.sessions() as session:
        f = session.get_one(FindingRow, finding_id)
        assert f.state == "fixed" and f.severity != "LOW"


def test_stored_findings_are_written_back_with_a_new_version(import_doc: Importer, runtime: Runtime) -> None:
    doc = load(dojo("awssecurityhub", "config_one_finding_active.json"))
    import_doc(doc)
    with runtime.sessions() as session:
        before = session.scalars(select(FindingRow)).one()
        version, severity = before.version_id, before.severity
    changed = copy.deepcopy(doc)
    changed["findings"][0].update(Severity={"Label": "CRITICAL"}, UpdatedAt="2030-01-01T00:00:00Z")
    assert import_doc(changed).updated == 1
    with runtime.sessions() as session:
        after = session.scalars(select(FindingRow)).one()
        assert (after.version_id, after.severity) == (version + 1, "CRITICAL") != (version, severity)
        (src,) = after.sources
        assert src.severity == "CRITICAL" and src.raw["UpdatedAt"] == "2030-01-01T00:00:00Z"


def test_the_plain_rows_of_an_import_have_every_column_of_their_tables() -> None:
    """An import loads and writes findings as `Draft`/`DraftSource`: a column added to a table and not to them
    would be lost on every update (and their loading would fail)."""
    from dataclasses import fields

    assert {f.name for f in fields(drafts.Draft)} - {"sources", "stored"} == set(FindingRow.__table__.columns.keys())
    assert {f.name for f in fields(drafts.DraftSource)} == set(FindingSource.__table__.columns.keys())
