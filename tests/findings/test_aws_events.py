"""GuardDuty and AWS Config events as EventBridge delivers them (labelled GuardDuty findings from panther)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.findings import identity, parsers
from mamori.findings.models import FindingRow
from mamori.findings.parsers import asff, aws_events
from tests.findings.conftest import Importer, dojo, load
from tests.support import peers

RULES = ("cloudsec", "panther-labs+panther-analysis", "rules", "aws_guardduty_rules")


def _guardduty_logs() -> list[tuple[str, bool, dict[str, Any]]]:
    out = []
    for path in sorted(Path(peers(*RULES)).glob("*.yml")):
        for test in yaml.safe_load(path.read_text())["Tests"]:
            out.append((test["Name"], bool(test["ExpectedResult"]), test["Log"]))
    return out


def _event(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e1",
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": detail.get("accountId"),
        "region": detail.get("region"),
        "detail": detail,
    }


def test_sample_findings_are_kept_out_and_real_ones_kept() -> None:
    """panther's labels: every "...As Sample Data" log must not alert; the others must."""
    logs = _guardduty_logs()
    assert len(logs) == 8
    batch = aws_events.parse_guardduty([_event(log) for _, _, log in logs])
    assert batch.problems == []
    kept = {o.uid for o in batch.observations}
    expected = {log["arn"] for _, alert, log in logs if alert}
    assert kept == expected
    assert len(batch.skipped) == sum(1 for _, alert, _ in logs if not alert)


def test_severity_bands_follow_guardduty() -> None:
    """panther's rule names give the band of each labelled log (low 0.1-3.9, medium 4-6.9, high 7-8.9, critical 9+)."""
    bands = {"Low": "LOW", "Medium": "MEDIUM", "High": "HIGH", "Critical": "CRITICAL"}
    for name, alert, log in _guardduty_logs():
        if alert:
            obs = aws_events.parse_guardduty(_event(log)).observations[0]
            assert obs.severity == bands[name.split()[0]], name


def test_the_security_hub_copy_of_a_guardduty_finding_has_the_same_identity() -> None:
    via_hub = asff.parse(load(dojo("awssecurityhub", "guardduty.json"))).observations[1]
    raw = via_hub.raw
    detail = {
        "schemaVersion": "2.0",
        "accountId": raw["AwsAccountId"],
        "region": raw["Region"],
        "partition": "aws",
        "arn": raw["Id"],
        "id": raw["Id"].rsplit("/", 1)[-1],
        "type": "Recon:EC2/Portscan",
        "severity": 5,
        "resource": {"resourceType": "Instance", "instanceDetails": {"instanceId": "i-1234567890"}},
        "service": {"serviceName": "guardduty", "count": 5, "archived": False},
        "title": raw["Title"],
        "updatedAt": "2024-01-17T11:33:20.699Z",
    }
    native = aws_events.parse_guardduty(_event(detail)).observations[0]
    assert identity.key_for(native) == identity.key_for(via_hub)
    assert (native.uid, native.tool, native.repeat_count) == (via_hub.uid, "guardduty", 5)


def _compliance(new: str, old: str | None = "COMPLIANT") -> dict[str, Any]:
    def result(kind: str) -> dict[str, Any]:
        return {
            "complianceType": kind,
            "resultRecordedTime": "2026-12-01T10:00:00.000Z",
            "annotation": "bucket allows public read",
        }

    return {
        "version": "0",
        "id": "c1",
        "detail-type": aws_events.CONFIG_DETAIL_TYPE,
        "source": "aws.config",
        "account": "111122223333",
        "region": "eu-west-1",
        "time": "2026-12-01T10:00:05Z",
        "detail": {
            "resourceId": "jobs-web-uploads",
            "awsRegion": "eu-west-1",
            "awsAccountId": "111122223333",
            "configRuleName": "s3-bucket-public-read-prohibited",
            "resourceType": "AWS::S3::Bucket",
            "messageType": "ComplianceChangeNotification",
            "newEvaluationResult": result(new),
            **({"oldEvaluationResult": result(old)} if old else {}),
        },
    }


def test_a_rule_going_non_compliant_opens_and_back_resolves() -> None:
    assert parsers.detect(_compliance("NON_COMPLIANT")) == aws_events.CONFIG
    opened = aws_events.parse_config(_compliance("NON_COMPLIANT")).observations[0]
    closed = aws_events.parse_config(_compliance("COMPLIANT", "NON_COMPLIANT")).observations[0]
    assert (opened.status, closed.status) == ("active", "resolved")
    assert identity.key_for(opened) == identity.key_for(closed)
    assert opened.control == "s3-bucket-public-read-prohibited"


@pytest.mark.parametrize("name", ["awsConfigRuleConfigurationChanged.json", "awsConfigRuleScheduled.json"])
def test_a_config_rule_invocation_is_refused_with_what_it_is(name: str) -> None:
    doc = load(peers("cloudsec", "aws-powertools+powertools-lambda-python", "tests", "events", name))
    batch = aws_events.parse_config(doc)
    assert [p.loc for p in batch.problems] == ["event.invokingEvent"]
    assert "rule invocation" in batch.problems[0].msg


def test_an_unknown_compliance_type_is_named() -> None:
    doc = copy.deepcopy(_compliance("NON_COMPLIANT"))
    doc["detail"]["newEvaluationResult"]["complianceType"] = "BROKEN"
    problem = aws_events.parse_config(doc).problems[0]
    assert problem.loc == "event.detail.newEvaluationResult.complianceType"


def test_a_config_rule_flip_opens_and_resolves_one_finding(import_doc: Importer, runtime: Runtime) -> None:
    assert import_doc(_compliance("NON_COMPLIANT")).created == 1
    back = _compliance("COMPLIANT", "NON_COMPLIANT")
    back["detail"]["newEvaluationResult"]["resultRecordedTime"] = "2026-12-02T10:00:00.000Z"
    assert import_doc(back).resolved == 1
    with runtime.sessions() as session:
        f = session.scalars(select(FindingRow)).one()
        assert (f.tools, f.status, f.control) == (["config"], "resolved", "s3-bucket-public-read-prohibited")
