"""Native JSON of Bandit, Brakeman, horusec and Semgrep: counts from DefectDojo's SOURCE.md and the
recorded BenchmarkPython runs, what each carries beyond SARIF, and errors that name the JSON path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mamori.core.errors import InvalidInput
from mamori.core.runtime import Runtime
from mamori.sast import native
from mamori.sast.service.intake import parse_report
from tests.sast.helpers import dojo, load, upload
from tests.support import peers


def _one(path: str, *parts: str) -> native.ParsedScan:
    (run,) = parse_report(dojo(path, *parts).read_bytes())
    return run


def test_brakeman_reports_parse_to_their_documented_counts_with_fingerprint_and_confidence() -> None:
    assert len(_one("brakeman", "no_finding.json").results) == 0
    two = _one("brakeman", "two_findings.json")
    assert len(two.results) == 2
    first = two.results[0]
    assert (first.rule_id, first.path, first.start_line, first.confidence) == (
        "Render", "app/views/users/show_follow.html.erb", 25, "low",
    )  # fmt: skip
    assert first.tool_fingerprints == {"brakeman": "518c8b9dc22e0e30a72f5e39e79c33ec6c3640f86bf95c5ce2472e6399072f71"}
    many = _one("brakeman", "many_findings.json")
    assert len(many.results) == 18
    assert {r.confidence for r in many.results} == {"high", "medium", "low"}


def test_horusec_keeps_vuln_hash_and_deprecated_hashes() -> None:
    run = _one("horusec", "issue_9939.json")
    (result,) = run.results
    assert result.tool_fingerprints["vulnHash"].startswith("e8f8b781")
    assert result.deprecated_fingerprints and result.cwes == ["CWE-798"] and result.severity == "critical"
    assert len(_one("horusec", "pr_6563.json").results) == 1


def test_bandit_json_reads_the_flagged_line_and_its_cwe() -> None:
    assert _one("bandit", "no_vuln.json").results == []
    (result,) = _one("bandit", "one_vuln.json").results
    assert (result.rule_id, result.path, result.start_line, result.snippet) == ("B101", "one/one.py", 2, "assert False")
    (run,) = parse_report(peers("sast", "runs", "bandit.json").read_bytes())
    assert len(run.results) == 343 and run.results[0].cwes == ["CWE-259"]


def test_semgrep_json_of_the_recorded_run_matches_its_sarif() -> None:
    (as_json,) = parse_report(peers("sast", "runs", "semgrep.json").read_bytes())
    (as_sarif,) = parse_report(peers("sast", "runs", "semgrep.sarif").read_bytes())
    assert len(as_json.results) == len(as_sarif.results) == 3607
    assert sum(1 for r in as_json.results if r.cwes) == sum(1 for r in as_sarif.results if r.cwes)


def test_a_horusec_rescan_with_a_new_hash_algorithm_keeps_the_finding(runtime: Runtime, tmp_path: Path) -> None:
    """horusec lists the hashes it used to give in deprecatedHashes: an old scan's hash still matches."""
    report = load(dojo("horusec", "issue_9939.json"))
    vuln = report["analysisVulnerabilities"][0]["vulnerabilities"]
    old_report = json.loads(json.dumps(report))
    old_vuln = old_report["analysisVulnerabilities"][0]["vulnerabilities"]
    old_vuln["vulnHash"], old_vuln["deprecatedHashes"] = vuln["deprecatedHashes"][0], []
    old_vuln["line"] = "700"
    first, second = tmp_path / "old.json", tmp_path / "new.json"
    first.write_text(json.dumps(old_report))
    second.write_text(json.dumps(report))
    assert upload(runtime, first)["new"] == 1
    assert upload(runtime, second, commit="c2") == {"new": 0, "unchanged": 0, "moved": 1, "reopened": 0, "fixed": 0}


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"warnings": [{"warning_type": "SQL Injection", "line": "x"}], "scan_info": {}}, "warnings[0].file"),
        (
            {"analysisVulnerabilities": [{"vulnerabilities": {"file": "a", "line": "ten"}}]},
            "analysisVulnerabilities[0].vulnerabilities.line",
        ),
        (
            {"results": [{"test_id": "B1", "filename": "a.py", "line_number": -1}], "metrics": {}},
            "results[0].line_number",
        ),
        ({"results": [{"path": "a.py", "start": {"line": 1}}], "errors": []}, "results[0].check_id"),
    ],
)  # fmt: skip
def test_a_broken_native_report_names_the_json_path(document: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_report(json.dumps(document).encode())
    assert where in [p.loc for p in caught.value.problems]
