"""ASFF parsing on the peers' Security Hub exports: counts from their SOURCE.md, products, identity, errors."""

from __future__ import annotations

import copy

import pytest

from mamori.findings import identity, parsers
from mamori.findings.parsers import asff, inspector2
from tests.findings.conftest import dojo, load

# awssecurityhub expected counts (DefectDojo SOURCE.md): one finding per ASFF record Id.
EXPECTED_RECORDS = {
    "config_one_finding.json": 1,
    "config_one_finding_active.json": 1,
    "config_many_findings.json": 3,
    "config_repeated_findings.json": 1,
    "config_multiple_resources.json": 2,
    "inspector_ec2_cve.json": 5,
    "inspector_ec2_cve_no_vulnerabilities.json": 1,
    "inspector_ec2_ghsa.json": 1,
    "inspector_ecr.json": 7,
    "guardduty.json": 4,
    "issue_10956.json": 1,
    "missing_account_id.json": 1,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_RECORDS))
def test_each_export_yields_one_record_per_distinct_asff_id(name: str) -> None:
    batch = asff.parse(load(dojo("awssecurityhub", name)))
    assert batch.problems == []
    assert len({o.uid for o in batch.observations}) == EXPECTED_RECORDS[name]


def test_products_are_told_apart_by_product_arn() -> None:
    tools = {
        name: {o.tool for o in asff.parse(load(dojo("awssecurityhub", name))).observations}
        for name in ("config_many_findings.json", "guardduty.json", "inspector_ecr.json")
    }
    assert tools == {
        "config_many_findings.json": {"securityhub"},
        "guardduty.json": {"guardduty"},
        "inspector_ecr.json": {"inspector"},
    }


def test_control_findings_carry_control_and_compliance() -> None:
    active = asff.parse(load(dojo("awssecurityhub", "config_one_finding_active.json"))).observations[0]
    passed = asff.parse(load(dojo("awssecurityhub", "config_one_finding.json"))).observations[0]
    assert (active.control, active.severity, active.status) == ("IAM.5", "MEDIUM", "active")
    assert (passed.control, passed.severity, passed.status) == ("IAM.5", "INFORMATIONAL", "resolved")
    assert active.resource == "AWS::::Account:012345678912"


def test_guardduty_findings_have_guardduty_types_and_repeat_counts() -> None:
    obs = asff.parse(load(dojo("awssecurityhub", "guardduty.json"))).observations
    assert [o.control for o in obs] == [
        "DefenseEvasion:EC2/UnusualDNSResolver",
        "Recon:EC2/Portscan",
        "UnauthorizedAccess:EC2/SSHBruteForce",
        "Discovery:IAMUser/AnomalousBehavior",
    ]
    assert [o.severity for o in obs] == ["MEDIUM", "MEDIUM", "LOW", "LOW"]
    assert obs[0].repeat_count == 108
    assert all(o.kind == "detection" for o in obs)


def test_inspector_findings_are_package_findings_on_their_resource() -> None:
    obs = asff.parse(load(dojo("awssecurityhub", "inspector_ec2_cve.json"))).observations
    first = obs[0]
    assert (first.kind, first.advisory, first.package, first.version) == (
        "vulnerability",
        "CVE-2022-3643",
        "kernel",
        "4.14.301",
    )
    assert first.score == 9.8 or first.score is not None
    assert first.location == first.resource == "arn:aws:ec2:us-east-1:XXXXXXXXXXXX:i-11111111111111111"
    ecr = asff.parse(load(dojo("awssecurityhub", "inspector_ecr.json"))).observations
    assert ecr[0].epss == 0.0014
    assert asff.parse(load(dojo("awssecurityhub", "issue_10956.json"))).observations[0].epss == 0.00239


def test_the_account_comes_from_the_id_arn_when_the_field_is_missing() -> None:
    obs = asff.parse(load(dojo("awssecurityhub", "missing_account_id.json"))).observations[0]
    assert obs.account == "1234567"


def test_inspector_records_of_one_problem_share_one_identity() -> None:
    """The export has five records: four of one account and one of another, same instance, CVE, package."""
    obs = asff.parse(load(dojo("awssecurityhub", "inspector_ec2_cve.json"))).observations
    assert len({identity.key_for(o) for o in obs}) == 2


def test_identity_ignores_severity_times_and_text() -> None:
    doc = load(dojo("awssecurityhub", "config_one_finding_active.json"))
    changed = copy.deepcopy(doc)
    record = changed["findings"][0]
    record.update(
        UpdatedAt="2030-01-01T00:00:00Z", Title="renamed", Description="other", Severity={"Label": "CRITICAL"}
    )
    before = asff.parse(doc).observations[0]
    after = asff.parse(changed).observations[0]
    assert identity.key_for(before) == identity.key_for(after)
    record["Resources"][0]["Id"] = "AWS::::Account:999999999999"
    assert identity.key_for(asff.parse(changed).observations[0]) != identity.key_for(before)


def test_a_bad_record_is_reported_by_index_and_field_and_the_others_are_read() -> None:
    doc = load(dojo("awssecurityhub", "guardduty.json"))
    del doc["Findings"][1]["Severity"]
    doc["Findings"][2]["UpdatedAt"] = "yesterday"
    doc["Findings"][3]["Resources"] = []
    batch = asff.parse(doc)
    assert [(p.index, p.loc) for p in batch.problems] == [
        (1, "Findings[1].Severity"),
        (2, "Findings[2].UpdatedAt"),
        (3, "Findings[3].Resources"),
    ]
    assert "expected an ISO 8601 time" in batch.problems[1].msg
    assert [o.index for o in batch.observations] == [0]


def test_eventbridge_imported_events_are_read_and_samples_kept_out() -> None:
    records = load(dojo("awssecurityhub", "guardduty.json"))["Findings"]
    sample = copy.deepcopy(records[0])
    sample["Id"] += "-sample"
    sample["ProductFields"]["aws/guardduty/service/additionalInfo/sample"] = "true"
    event = {
        "version": "0",
        "id": "5b1c6a8e-0000-0000-0000-000000000000",
        "detail-type": asff.EVENT_DETAIL_TYPE,
        "source": "aws.securityhub",
        "account": "123456789012",
        "region": "us-east-1",
        "detail": {"findings": [records[0], sample]},
    }
    assert asff.looks_like(event)
    batch = asff.parse([event])
    assert [o.uid for o in batch.observations] == [records[0]["Id"]]
    assert len(batch.skipped) == 1 and "sample" in batch.skipped[0]


# DefectDojo SOURCE.md: aws_inspector2 zero 0, one 1, many 8
@pytest.mark.parametrize(("name", "count"), [("zero", 0), ("one", 1), ("many", 8)])
def test_inspector2_native_findings(name: str, count: int) -> None:
    doc = load(dojo("aws_inspector2", f"aws_inspector2_{name}_vul.json"))
    assert parsers.detect(doc) == inspector2.FORMAT
    batch = inspector2.parse(doc)
    assert batch.problems == [] and len(batch.observations) == count


def test_inspector2_statuses_and_unrated_severity() -> None:
    obs = inspector2.parse(load(dojo("aws_inspector2", "aws_inspector2_many_vul.json"))).observations
    assert [o.status for o in obs].count("resolved") == 1
    untriaged = [o for o in obs if o.raw["severity"] == "UNTRIAGED"]
    assert untriaged and all(o.severity == "MEDIUM" for o in untriaged)
    libxml = next(o for o in obs if o.advisory == "CVE-2022-29824")
    assert (libxml.kind, libxml.package, libxml.version, libxml.epss) == (
        "vulnerability",
        "libxml2",
        "2.9.4+dfsg1",
        0.0015,
    )
