"""Prowler's CSV report and v3 JSON report: the peers' samples, the queue, and errors naming line and column.

Samples: prowler-cloud's examples/output/*.csv (Prowler 5, placeholders for ids) and DefectDojo's
unittests/scans/aws_prowler_v3plus/*.json (Prowler 3); expected counts from DefectDojo's SOURCE.md
(example_output_aws.csv 4; one_vuln 1, many_vuln 3, no_vuln 0)."""

from __future__ import annotations

import copy
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.core.errors import InvalidInput
from mamori.core.runtime import Runtime
from mamori.findings import identity
from mamori.findings.models import FindingRow, FindingSource
from mamori.findings.parsers import ocsf, prowler
from mamori.findings.service import intake
from tests.conftest import issue_token
from tests.findings.conftest import Importer, dojo, load
from tests.support import peers


def _example(provider: str, ext: str = "csv") -> bytes:
    return peers(
        "cloudsec", "prowler-cloud+prowler", "examples", "output", f"example_output_{provider}.{ext}"
    ).read_bytes()


def test_the_aws_csv_report_gives_defectdojos_count() -> None:
    batch = intake.read(_example("aws"))
    assert (batch.format, batch.scan, batch.problems) == ("prowler-csv", True, [])
    assert len([o for o in batch.observations if o.status == "active"]) == 4
    first = batch.observations[0]
    assert (first.tool, first.control, first.severity, first.kind) == (
        "prowler",
        "accessanalyzer_enabled",
        "LOW",
        "cloud",
    )
    assert first.scope == f"prowler|{first.account}|{first.region}|accessanalyzer_enabled"
    assert first.workflow == "FAIL" and first.updated_at is not None and first.updated_at.year == 2025


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp", "kubernetes"])
def test_every_row_of_every_provider_is_read_and_pass_rows_resolve(provider: str) -> None:
    payload = _example(provider)
    lines = [line for line in payload.decode().splitlines()[1:] if line.strip()]
    batch = intake.read(payload)
    assert batch.problems == [] and batch.total == len(lines) == len(batch.observations)
    for line, obs in zip(lines, batch.observations, strict=True):
        status = line.split(";")[13]
        assert obs.status == ("resolved" if status == "PASS" else "active"), line[:80]


@pytest.mark.parametrize(("name", "count"), [("one_vuln.json", 1), ("many_vuln.json", 3), ("no_vuln.json", 0)])
def test_v3_json_reports_give_defectdojos_counts(name: str, count: int) -> None:
    payload = dojo("aws_prowler_v3plus", name).read_bytes()
    batch = intake.read(payload, fmt="prowler-json")
    assert batch.problems == [] and len(batch.observations) == count
    if count:
        assert intake.read(payload).format == "prowler-json", "detected without --format"
        acm = batch.observations[0]
        assert (acm.account, acm.region, acm.control, acm.severity) == (
            "999999999999",
            "us-east-1",
            "acm_certificates_expiration_check",
            "HIGH",
        )
        assert acm.resource.startswith("arn:aws:acm:us-east-1:999999999999:certificate/")


def test_an_empty_report_without_a_format_is_refused_with_the_formats() -> None:
    with pytest.raises(InvalidInput, match="prowler-json"):
        intake.read(b"[]", name="no_vuln.json")


def test_a_csv_run_imports_reimports_unchanged_and_closes_only_what_it_rechecked(
    import_doc: Importer, runtime: Runtime
) -> None:
    header, *rows = _example("aws").decode().splitlines()
    columns = header.split(";")
    second = rows[0].split(";")  # the same check on a second resource
    second[columns.index("RESOURCE_UID")] = "arn:aws:iam::<account_uid>:role/second"
    second[columns.index("FINDING_UID")] = "<finding_uid>-2"

    def doc(*lines: str) -> bytes:
        return ("\n".join([header, *lines]) + "\n").encode()

    full = doc(*rows, ";".join(second))
    assert import_doc(full, name="prowler.csv").created == 5
    again = import_doc(full, name="prowler.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    partial = import_doc(doc(*rows[1:]), name="prowler.csv")
    assert partial.resolved == 0, "a run without the check at all closes nothing of it"
    rechecked = import_doc(doc(*rows), name="prowler.csv")
    assert rechecked.resolved == 1, "the run re-checked accessanalyzer_enabled and no longer reports the role"
    with runtime.sessions() as session:
        closed = session.scalars(select(FindingRow).where(FindingRow.status == "resolved")).one()
        assert (closed.control, closed.resource) == ("accessanalyzer_enabled", "arn:aws:iam::<account_uid>:role/second")
        assert session.scalars(select(FindingSource.format)).all() == ["prowler-csv"] * 5


def test_bad_rows_name_their_line_and_column_and_never_drop_the_good_ones(import_doc: Importer) -> None:
    header, *rows = _example("aws").decode().splitlines()
    columns = header.split(";")
    bad_status = rows[0].split(";")
    bad_status[columns.index("STATUS")] = "BROKEN"
    no_check = rows[1].split(";")
    no_check[columns.index("CHECK_ID")] = ""
    too_long = rows[2] + ";extra"
    doc = "\n".join([header, ";".join(bad_status), ";".join(no_check), too_long, rows[3]]) + "\n"
    batch = intake.read(doc.encode())
    assert [p.render() for p in batch.problems] == [
        "record 0: line 2.STATUS: expected one of PASS, FAIL, MANUAL, INFO, got 'BROKEN'",
        "record 1: line 3.CHECK_ID: required field is missing",
        f"record 2: line 4: 1 more field(s) than the header's {len(columns)} columns",
    ]
    assert [o.index for o in batch.observations] == [3]
    report = import_doc(doc.encode())
    assert (report.created, report.rejected) == (1, 3)


def test_a_csv_without_the_report_columns_names_them() -> None:
    batch = intake.read(b"FINDING_UID;CHECK_ID;STATUS\nx;y;FAIL\n", fmt="prowler-csv")
    (problem,) = batch.problems
    assert problem.loc == "line 1"
    assert "SEVERITY, ACCOUNT_UID, REGION, RESOURCE_UID, TIMESTAMP" in problem.msg
    assert (
        intake.read(b"\xff\xfe;CHECK_ID;FINDING_UID\n", fmt="prowler-csv")
        .problems[0]
        .msg.startswith("document: not UTF-8")
    )


def test_bad_v3_results_name_their_index_and_field() -> None:
    results = load(dojo("aws_prowler_v3plus", "many_vuln.json"))
    bad = copy.deepcopy(results)
    bad[0]["Status"] = "MAYBE"
    del bad[1]["AccountId"]
    bad[2]["Severity"] = "urgent"
    batch = intake.read(json.dumps([*bad, results[0], 7]).encode(), fmt="prowler-json")
    assert [(p.index, p.loc) for p in batch.problems] == [
        (0, "[0].Status"),
        (1, "[1].AccountId"),
        (2, "[2].Severity"),
        (4, "[4]"),
    ]
    assert [o.index for o in batch.observations] == [3]


def test_the_csv_and_ocsf_rows_of_one_check_are_one_source() -> None:
    """A CSV row written from the documented columns with the values of the OCSF sample's first record."""
    record = load(peers("cloudsec", "prowler-cloud+prowler", "examples", "output", "example_output_aws.ocsf.json"))[0]
    (from_ocsf,) = ocsf.parse([record]).observations
    values = {
        "TIMESTAMP": "2025-02-14 14:27:03",
        "ACCOUNT_UID": from_ocsf.account,
        "FINDING_UID": record["finding_info"]["uid"],
        "PROVIDER": "aws",
        "CHECK_ID": from_ocsf.control,
        "STATUS": "FAIL",
        "MUTED": "False",
        "SEVERITY": "low",
        "RESOURCE_UID": from_ocsf.resource,
        "REGION": from_ocsf.region,
    }
    csv_text = ";".join(values) + "\n" + ";".join(values.values()) + "\n"
    (from_csv,) = prowler.parse_csv(csv_text.encode()).observations
    assert (from_csv.tool, from_csv.uid) == (from_ocsf.tool, from_ocsf.uid)
    assert identity.key_for(from_csv) == identity.key_for(from_ocsf)


def test_a_muted_result_is_suppressed_like_prowlers_ocsf_status() -> None:
    header, *rows = _example("aws").decode().splitlines()
    columns = header.split(";")
    muted = rows[0].split(";")
    muted[columns.index("MUTED")] = "True"
    (obs,) = intake.read(f"{header}\n{';'.join(muted)}\n".encode()).observations
    assert (obs.status, obs.workflow) == ("active", "SUPPRESSED")


def test_a_csv_report_uploads_through_the_api(client: TestClient, runtime: Runtime) -> None:
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'write')}"}
    body = _example("aws")
    imported = client.post("/api/v1/findings/imports?name=prowler.csv", content=body, headers=headers)
    assert imported.status_code == 200, imported.text
    assert (imported.json()["format"], imported.json()["created"]) == ("prowler-csv", 4)
    listed = client.get("/api/v1/findings?tool=prowler", headers=headers).json()
    assert {f["control"] for f in listed} >= {"accessanalyzer_enabled"}
