"""OCSF findings: the parser's rules match the OCSF schema source, and Prowler's outputs import as scans."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mamori.findings import identity
from mamori.findings.parsers import ocsf
from tests.findings.conftest import dojo, load
from tests.support import peers

SCHEMA = ("cloudsec", "ocsf+ocsf-schema")
CLASS_FILES = {
    2002: "vulnerability_finding",
    2003: "compliance_finding",
    2004: "detection_finding",
    2007: "application_security_posture_finding",
}


def _schema(*parts: str) -> dict[str, Any]:
    path: Path = peers(*SCHEMA, *parts)
    return dict(json.loads(path.read_text()))


def _required(name: str) -> set[str]:
    """Required attributes of an event class, following `extends` up to base_event."""
    doc = (
        _schema("events", "findings", f"{name}.json") if name != "base_event" else _schema("events", "base_event.json")
    )
    parent = doc.get("extends")
    inherited = _required(parent) if parent else set()
    own = {
        k for k, v in doc.get("attributes", {}).items() if isinstance(v, dict) and v.get("requirement") == "required"
    }
    return inherited | own


@pytest.mark.parametrize("class_uid", sorted(CLASS_FILES))
def test_required_attributes_and_class_ids_follow_the_schema(class_uid: int) -> None:
    name = CLASS_FILES[class_uid]
    doc = _schema("events", "findings", f"{name}.json")
    parent = _schema("events", "findings", f"{doc['extends']}.json")
    category = _schema("categories.json")["attributes"][doc.get("category", parent["category"])]["uid"]
    assert category * 1000 + doc["uid"] == class_uid
    assert set(ocsf.BASE_REQUIRED) | set(ocsf.CLASS_REQUIRED[class_uid]) == _required(name)


def test_enums_cover_the_schema() -> None:
    finding = _schema("events", "findings", "finding.json")["attributes"]
    assert {int(k) for k in finding["status_id"]["enum"]} <= set(ocsf.STATUS_IDS)
    assert {int(k) for k in finding["activity_id"]["enum"]} <= set(ocsf.ACTIVITY_IDS)
    compliance = _schema("objects", "compliance.json")["attributes"]["status_id"]["enum"]
    assert compliance[str(ocsf.COMPLIANCE_PASS)]["caption"] == "Pass"


# DefectDojo SOURCE.md: open findings per file (muted and PASS rows dropped, identical rows merged).
EXPECTED_OPEN = {
    ("aws_prowler_v3plus", "no_vuln.ocsf.json"): 0,
    ("aws_prowler_v3plus", "one_vuln.ocsf.json"): 1,
    ("aws_prowler_v3plus", "many_vuln.ocsf.json"): 2,
    ("aws_prowler_v3plus", "one_vuln_after_4_5_0.ocsf.json"): 1,
    ("aws_prowler_v3plus", "many_vuln_after_4_5_0.ocsf.json"): 2,
    ("prowler", "example_output_aws.ocsf.json"): 3,
    ("prowler", "example_output_azure.ocsf.json"): 3,
    ("prowler", "example_output_gcp.ocsf.json"): 3,
    ("prowler", "example_output_kubernetes.ocsf.json"): 3,
}


@pytest.mark.parametrize(("folder", "name"), sorted(EXPECTED_OPEN))
def test_prowler_outputs_give_the_expected_open_findings(folder: str, name: str) -> None:
    batch = ocsf.parse(load(dojo(folder, name)))
    assert batch.problems == [] and batch.scan
    open_keys = {identity.key_for(o) for o in batch.observations if o.status == "active" and o.workflow != "SUPPRESSED"}
    assert len(open_keys) == EXPECTED_OPEN[(folder, name)]


# prowler-cloud SOURCE.md: aws 5 rows (FAIL 2, MANUAL 3), gcp 5 (PASS 3, FAIL 2), kubernetes 6 (FAIL 5, PASS 1)
@pytest.mark.parametrize(("provider", "failing", "passing"), [("aws", 5, 0), ("gcp", 2, 3), ("kubernetes", 5, 1)])
def test_pass_rows_resolve_and_fail_or_manual_rows_stay_open(provider: str, failing: int, passing: int) -> None:
    path = peers("cloudsec", "prowler-cloud+prowler", "examples", "output", f"example_output_{provider}.ocsf.json")
    batch = ocsf.parse(load(path))
    statuses = [o.status for o in batch.observations]
    assert (statuses.count("active"), statuses.count("resolved")) == (failing, passing)
    assert {o.tool for o in batch.observations} == {"prowler"}


def test_schema_breaches_name_the_record_and_field() -> None:
    records = load(dojo("aws_prowler_v3plus", "many_vuln.ocsf.json"))
    bad = copy.deepcopy(records)
    bad[0]["type_uid"] = 200499
    del bad[1]["finding_info"]["uid"]
    bad[2]["class_uid"] = 3002
    batch = ocsf.parse(bad)
    assert [(p.index, p.loc) for p in batch.problems] == [
        (0, "[0].type_uid"),
        (1, "[1].finding_info.uid"),
        (2, "[2].class_uid"),
    ]
    assert "class_uid * 100 + activity_id" in batch.problems[0].msg


def test_a_vulnerability_finding_is_a_package_finding() -> None:
    record = copy.deepcopy(load(dojo("aws_prowler_v3plus", "one_vuln.ocsf.json"))[0])
    record.update(
        class_uid=2002,
        class_name="Vulnerability Finding",
        type_uid=200201,
        vulnerabilities=[
            {
                "cve": {
                    "uid": "CVE-2023-4863",
                    "cvss": [{"base_score": 8.8, "version": "3.1"}],
                    "epss": {"score": 0.4},
                },
                "affected_packages": [{"name": "libwebp", "version": "1.2.4", "package_manager": "deb"}],
            }
        ],
    )
    obs = ocsf.parse([record]).observations[0]
    assert (obs.kind, obs.advisory, obs.package, obs.version, obs.score, obs.epss) == (
        "vulnerability",
        "CVE-2023-4863",
        "libwebp",
        "1.2.4",
        8.8,
        0.4,
    )
