"""Suppression rules as code (expiry reopens), Security Hub's own SUPPRESSED, the risk model and SLA clocks."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.errors import Conflict, ValidationFailed
from mamori.core.runtime import Runtime
from mamori.findings import risk
from mamori.findings.models import FindingHistory, FindingRow
from mamori.findings.service import triage, writeback
from mamori.findings.service.drafts import Draft, DraftSource
from tests.findings.conftest import Importer, dojo, load

RULE = """apiVersion: mamori.dev/v1
kind: SuppressionRule
metadata: {{name: scanner-host}}
spec:
  owner: ada@example.com
  reason: The port-scanning instance is our own vulnerability scanner.
  expires: "{expires}"
  match:
    controls: ["Recon:*"]
    accounts: ["123456789012"]
"""


def _apply(runtime: Runtime, folder: Path, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "rule.yaml").write_text(text)
    manifest.apply(runtime, manifest.load(folder, runtime.kinds), actor=Actor(name="test", source="config"))


def test_a_rule_hides_what_it_matches_until_it_expires(
    runtime: Runtime, import_doc: Importer, clock: FixedClock, tmp_path: Path
) -> None:
    _apply(runtime, tmp_path / "cfg", RULE.format(expires=(clock.now() + timedelta(days=2)).isoformat()))
    import_doc(dojo("awssecurityhub", "guardduty.json"))
    with runtime.sessions() as session:
        hidden = {f.control: f.suppressed_by for f in session.scalars(select(FindingRow))}
    assert hidden["Recon:EC2/Portscan"] == "scanner-host"
    assert hidden["UnauthorizedAccess:EC2/SSHBruteForce"] is None
    clock.advance(timedelta(days=3))
    with runtime.sessions.begin() as session:
        counts = triage.apply_suppressions(session, now=clock.now())
    assert counts["unsuppressed"] == 1
    with runtime.sessions() as session:
        f = session.scalars(select(FindingRow).where(FindingRow.control == "Recon:EC2/Portscan")).one()
        assert f.suppressed_by is None
        last = session.scalars(
            select(FindingHistory).where(FindingHistory.finding_id == f.id).order_by(FindingHistory.id.desc())
        ).first()
        assert last is not None and last.event == "unsuppressed" and "scanner-host expired" in last.note


def test_a_rule_needs_an_owner_a_reason_and_an_expiry_with_a_zone(runtime: Runtime, tmp_path: Path) -> None:
    text = RULE.format(expires="2027-01-01T00:00:00").replace("owner: ada@example.com", "owner: ada")
    try:
        _apply(runtime, tmp_path / "bad", text)
    except ValidationFailed as exc:
        rendered = str(exc)
    else:
        raise AssertionError("a bad rule was applied")
    assert "spec.owner" in rendered and "spec.expires" in rendered


def test_security_hub_suppressed_workflow_is_honoured(runtime: Runtime, import_doc: Importer) -> None:
    doc = load(dojo("awssecurityhub", "config_one_finding_active.json"))
    suppressed = copy.deepcopy(doc)
    suppressed["findings"][0]["Workflow"] = {"Status": "SUPPRESSED"}
    import_doc(suppressed)
    with runtime.sessions() as session:
        assert session.scalars(select(FindingRow.suppressed_by)).one() == "securityhub:SUPPRESSED"
    import_doc(doc)
    with runtime.sessions() as session:
        assert session.scalars(select(FindingRow.suppressed_by)).one() is None


def test_risk_acceptance_expires_back_into_the_queue(runtime: Runtime, import_doc: Importer, clock: FixedClock) -> None:
    import_doc(dojo("awssecurityhub", "config_one_finding_active.json"))
    with runtime.sessions.begin() as session:
        f = session.scalars(select(FindingRow)).one()
        triage.triage(
            session,
            finding_id=f.id,
            actor=Actor(name="ada", source="ui"),
            now=clock.now(),
            state="risk_accepted",
            accepted_until=clock.now() + timedelta(days=1),
        )
    clock.advance(timedelta(days=2))
    with runtime.sessions.begin() as session:
        assert triage.apply_suppressions(session, now=clock.now())["acceptances_expired"] == 1
    with runtime.sessions() as session:
        assert session.scalars(select(FindingRow.state)).one() == "new"


def test_sla_breaches_reach_the_timeline_once(runtime: Runtime, import_doc: Importer, clock: FixedClock) -> None:
    import_doc(dojo("awssecurityhub", "config_multiple_resources.json"))
    clock.advance(timedelta(days=400))
    with runtime.sessions.begin() as session:
        assert triage.note_breaches(session, now=clock.now()) == 2
    with runtime.sessions.begin() as session:
        assert triage.note_breaches(session, now=clock.now()) == 0


def test_known_exploited_in_production_is_p1_and_informational_is_p4() -> None:
    assert risk.rank(risk.Exposure(severity="MEDIUM", score=5.3, kev=True, environment="production")).priority == "P1"
    info = risk.rank(risk.Exposure(severity="INFORMATIONAL", internet_facing=True, tier=1))
    assert info.priority == "P4" and "informational: never above P4" in info.reasons
    exposed = risk.rank(risk.Exposure(severity="HIGH", internet_facing=True, environment="production", tier=1))
    assert exposed.priority == "P1" and exposed.reasons == (
        "severity high (7)",
        "internet-facing resource",
        "production account",
        "tier-1 service",
    )
    staging = risk.rank(risk.Exposure(severity="HIGH", environment="staging"))
    assert staging.priority == "P3"


def test_business_hours_count_only_working_time() -> None:
    friday_4pm = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    hours = risk.BusinessHours(start=9, end=17)
    assert risk.due_at(friday_4pm, "P1", {"P1": 1}, business=hours) == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
    assert risk.due_at(friday_4pm, "P1", {"P1": 1}) == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert risk.due_at(saturday, "P1", {"P1": 2}, business=hours) == datetime(2026, 12, 8, 17, 0, tzinfo=UTC)


def test_ocsf_records_of_security_hub_are_written_back_with_the_v2_shape() -> None:
    record = {"finding_info": {"uid": "f-1"}, "metadata": {"product": {"uid": "aws-securityhub"}}}
    draft = Draft(
        id="x",
        key="k",
        key_hash="h",
        kind="cloud",
        account="111122223333",
        region="eu-west-1",
        resource="r",
        control="c",
        ecosystem="",
        package="",
        advisory="",
        location="",
        service=None,
        team=None,
        severity="HIGH",
        first_seen_at=datetime(2026, 12, 1, tzinfo=UTC),
        last_seen_at=datetime(2026, 12, 1, tzinfo=UTC),
        state_changed_at=datetime(2026, 12, 1, tzinfo=UTC),
        state="false_positive",
        sources=[
            DraftSource(
                tool="aws-securityhub",
                uid="f-1",
                uid_hash="u",
                first_seen_at=datetime(2026, 12, 1, tzinfo=UTC),
                format="ocsf",
                raw=record,
            )
        ],
    )
    [(region, path, body)] = writeback.requests_for(draft, status=writeback.FOR_STATE[draft.state], note="n", actor="a")  # type: ignore[arg-type]
    assert (region, path) == ("eu-west-1", "/findingsv2/batchupdatev2")
    assert body == {
        "FindingIdentifiers": [
            {"CloudAccountUid": "111122223333", "FindingInfoUid": "f-1", "MetadataProductUid": "aws-securityhub"}
        ],
        "StatusId": 3,
        "Comment": "n",
    }


def test_a_decision_racing_an_import_is_a_conflict_not_a_lost_update(
    runtime: Runtime, import_doc: Importer, clock: FixedClock
) -> None:
    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite takes the write lock at BEGIN: the two transactions cannot interleave")
    doc = load(dojo("awssecurityhub", "config_one_finding_active.json"))
    import_doc(doc)
    with runtime.sessions() as stale:
        f = stale.scalars(select(FindingRow)).one()
        changed = copy.deepcopy(doc)
        changed["findings"][0].update(Severity={"Label": "HIGH"}, UpdatedAt="2026-12-01T00:00:00Z")
        import_doc(changed)  # another transaction moves the finding's version
        with pytest.raises(Conflict, match="reload it"):
            triage.triage(stale, finding_id=f.id, actor=Actor(name="ada", source="ui"), now=clock.now(), state="fixed")
