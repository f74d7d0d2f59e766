"""CloudTrail detections as configuration, checked against panther's labelled CloudTrail records."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.findings import detections, kinds
from mamori.findings.models import FindingRow, FindingSource
from tests.findings.conftest import Importer
from tests.support import peers

RULES = ("cloudsec", "panther-labs+panther-analysis", "rules", "aws_cloudtrail_rules")
PANTHER_TO_MAMORI = {
    "aws_console_root_login.yml": "root-console-login",
    "aws_console_root_login_failed.yml": "root-console-login-failed",
    "aws_console_login_without_mfa.yml": "console-login-without-mfa",
    "aws_console_login_without_saml.yml": "console-login-without-saml",
    "aws_cloudtrail_unsuccessful_mfa_attempt.yml": "unsuccessful-mfa-attempt",
    "aws_root_access_key_created.yml": "root-access-key-created",
    "aws_iam_user_key_created.yml": "iam-user-key-created-by-another",
    "aws_cloudtrail_stopped.yml": "cloudtrail-stopped",
    "aws_cloudtrail_created.yml": "cloudtrail-created",
    "aws_config_service_disabled_deleted.yml": "config-disabled",
    "aws_ec2_security_group_modified.yml": "security-group-modified",
    "aws_network_acl_permissive_entry.yml": "network-acl-open-to-world",
    "aws_s3_bucket_policy_modified.yml": "s3-bucket-policy-modified",
    "aws_s3_delete_public_access_block.yml": "s3-public-access-block-deleted",
    "aws_snapshot_made_public.yml": "snapshot-made-public",
    "aws_rds_snapshot_shared.yml": "rds-snapshot-shared",
    "aws_iam_attach_admin_role_policy.yml": "admin-policy-attached-to-role",
    "aws_iam_attach_admin_user_policy.yml": "admin-policy-attached-to-user",
    "aws_iam_compromised_key_quarantine.yml": "compromised-key-quarantined",
    "aws_iam_create_user.yml": "iam-user-created",
    "aws_update_credentials.yml": "credentials-changed",
    "aws_vpc_flow_logs_deleted.yml": "vpc-flow-logs-deleted",
    "aws_securityhub_finding_evasion.yml": "securityhub-finding-evasion",
    "aws_codebuild_made_public.yml": "codebuild-project-made-public",
    "aws_unauthorized_api_call.yml": "unauthorized-api-call",
}
NEEDS_PANTHER_STATE = {
    (
        "aws_console_login_without_mfa.yml",
        "No MFA Login - New User",
    ): "panther mocks the account's age; Mamori keeps no per-user history",
}
"""Labelled cases that depend on Panther's own lookups, which a detection over one record cannot reproduce."""


def _cases() -> list[tuple[str, str, bool, dict[str, Any]]]:
    out = []
    folder = Path(peers(*RULES))
    for name in sorted(PANTHER_TO_MAMORI):
        for test in yaml.safe_load((folder / name).read_text())["Tests"]:
            if (name, test["Name"]) not in NEEDS_PANTHER_STATE:
                out.append((name, test["Name"], bool(test["ExpectedResult"]), test["Log"]))
    return out


def test_every_mapped_rule_agrees_with_panthers_labels() -> None:
    rules = kinds.default_detections()
    wrong = [
        (file, case, expected)
        for file, case, expected, log in _cases()
        if detections.alerts(rules[PANTHER_TO_MAMORI[file]], log) is not expected
    ]
    cases = _cases()
    assert len(cases) >= 70
    assert sum(1 for *_, e, _ in cases if e) >= 28 and sum(1 for *_, e, _ in cases if not e) >= 40
    assert wrong == []


def _record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventVersion": "1.08",
        "eventID": "e-1",
        "eventTime": "2026-12-01T10:00:00Z",
        "awsRegion": "eu-west-1",
        "recipientAccountId": "111122223333",
        "sourceIPAddress": "203.0.113.9",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/ops", "accountId": "111122223333"},
    }
    base.update(changes)
    return base


def test_security_group_opened_to_the_world_and_kms_deletion() -> None:
    rules = kinds.default_detections()
    opened = _record(
        eventSource="ec2.amazonaws.com",
        eventName="AuthorizeSecurityGroupIngress",
        requestParameters={
            "groupId": "sg-0abc",
            "ipPermissions": {
                "items": [
                    {
                        "ipProtocol": "tcp",
                        "fromPort": 22,
                        "toPort": 22,
                        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                    }
                ]
            },
        },
    )
    narrow = copy.deepcopy(opened)
    narrow["requestParameters"]["ipPermissions"]["items"][0]["ipRanges"]["items"][0]["cidrIp"] = "10.0.0.0/8"
    assert detections.alerts(rules["security-group-open-to-world"], opened)
    assert not detections.alerts(rules["security-group-open-to-world"], narrow)
    kms = _record(
        eventSource="kms.amazonaws.com",
        eventName="ScheduleKeyDeletion",
        requestParameters={"keyId": "k-1", "pendingWindowInDays": 7},
    )
    assert detections.alerts(rules["kms-key-scheduled-for-deletion"], kms)
    assert not detections.alerts(rules["kms-key-scheduled-for-deletion"], {**kms, "errorCode": "AccessDenied"})
    public = _record(
        eventSource="s3.amazonaws.com",
        eventName="PutBucketPolicy",
        requestParameters={
            "bucketName": "b",
            "bucketPolicy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]},
        },
    )
    assert detections.alerts(rules["resource-policy-made-public"], public)


def test_a_rule_document_is_validated_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        detections.CloudTrailDetectionSpec.model_validate({"title": "x rule", "when": [{"field": "eventName"}]})


def test_a_cloudtrail_log_file_imports_one_finding_per_rule_and_resource(
    import_doc: Importer, runtime: Runtime
) -> None:
    login = _record(
        eventSource="signin.amazonaws.com",
        eventName="ConsoleLogin",
        eventType="AwsConsoleSignIn",
        userIdentity={"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"},
        responseElements={"ConsoleLogin": "Success"},
        additionalEventData={"MFAUsed": "Yes"},
    )
    again = {**login, "eventID": "e-2", "eventTime": "2026-12-01T11:00:00Z"}
    noise = _record(eventSource="s3.amazonaws.com", eventName="GetObject")
    broken = {"eventName": "ConsoleLogin"}
    report = import_doc({"Records": [login, again, noise, broken]})
    assert (report.total, report.created, report.rejected) == (4, 2, 1), "root login, and a login without SAML"
    assert report.problems == ["record 3: Records[3].eventSource: required field is missing"]
    with runtime.sessions() as session:
        f = session.scalars(select(FindingRow).where(FindingRow.control == "root-console-login")).one()
        src = session.scalars(select(FindingSource).where(FindingSource.finding_id == f.id)).one()
    assert (f.control, f.severity, f.kind, src.repeat_count) == ("root-console-login", "HIGH", "detection", 2)
    assert import_doc({"Records": [login, again, noise]}).unchanged == 2
