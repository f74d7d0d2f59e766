"""SARIF 2.1.0 intake: what is read from real tools' logs and the spec's examples, and errors that name
the JSON path of what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mamori.core.errors import InvalidInput
from mamori.sast import sarif
from mamori.sast.service.intake import parse_report
from tests.sast.helpers import dojo, load
from tests.support import peers


def _log(result: dict[str, Any], **run: Any) -> dict[str, Any]:
    return {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "T", "rules": [{"id": "R1"}]}}, "results": [result], **run}],
    }


def _problems(doc: Any) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        sarif.parse(doc)
    return [p.loc for p in caught.value.problems]


def test_bandit_sarif_gives_rules_cwes_severity_and_confidence() -> None:
    (run,) = sarif.parse(load(peers("sast", "runs", "bandit.sarif")))
    assert run.tool == "Bandit"
    assert len(run.results) == 343  # runs/README.md: 343 results
    first = run.results[0]
    assert (first.rule_id, first.path, first.start_line, first.cwes) == ("B106", "helpers/ldap.py", 5, ["CWE-259"])
    assert (first.severity, first.confidence) == ("low", "medium")


def test_semgrep_sarif_placeholder_fingerprints_are_not_identities() -> None:
    (run,) = sarif.parse(load(peers("sast", "runs", "semgrep.sarif")))
    assert len(run.results) == 3607
    assert all(not r.tool_fingerprints for r in run.results)  # "requires login" everywhere
    tagged = [r for r in run.results if r.cwes]
    assert len(tagged) == 655  # runs/README.md: 655 results from CWE-tagged rules


def test_appendix_k_logs_parse_with_artifact_indexes_and_logical_locations() -> None:
    (k1,) = sarif.parse(load(dojo("sarif", "appendix_k1.sarif")))
    assert k1.results == []
    (k2,) = sarif.parse(load(dojo("sarif", "appendix_k2.sarif")))
    assert k2.results[0].path == "src/collections/list.cpp"
    (k3,) = sarif.parse(load(dojo("sarif", "appendix_k3.sarif")))
    assert k3.results[0].path == "Example.Worker.DoWork"


def test_suppressions_are_read_with_their_kind_and_status() -> None:
    (run,) = sarif.parse(load(dojo("sarif", "suppression_test.sarif")))
    kinds = [[s.kind for s in r.suppressions] for r in run.results]
    assert kinds == [["external"], ["external"], ["inSource"], [], []]
    assert [r.suppressed for r in run.results] == [True, True, True, False, False]


def test_nested_fingerprint_objects_are_flattened() -> None:
    (run,) = sarif.parse(load(dojo("sarif", "blackduck_nested_fingerprints.sarif")))
    assert run.results[0].tool_fingerprints == {"csvRowSha256": "a" * 64}


def test_index_and_uri_base_id_resolve_to_a_repository_path() -> None:
    doc = _log(
        {
            "ruleId": "R1",
            "message": {"text": "m"},
            "locations": [{"physicalLocation": {"artifactLocation": {"index": 0}, "region": {"startLine": 3}}}],
            "partialFingerprints": {"primaryLocationLineHash": "abc:1"},
            "baselineState": "new",
            "suppressions": [{"kind": "inSource", "status": "rejected"}],
        },
        artifacts=[{"location": {"uri": "src/app.py", "uriBaseId": "SRC"}}],
        originalUriBaseIds={"SRC": {"uri": "file:///work/checkout/"}},
    )
    (result,) = sarif.parse(doc)[0].results
    assert (result.path, result.start_line, result.line_hash) == ("src/app.py", 3, "abc:1")
    assert result.baseline_state == "new"
    assert not result.suppressed  # a rejected suppression hides nothing
    absolute = _log(
        {
            "ruleId": "R1",
            "message": {"text": "m"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "file:///ci/repo/a/b.py"}}}],
        }
    )
    assert sarif.parse(absolute, roots=("/ci/repo",))[0].results[0].path == "a/b.py"


def test_security_severity_and_cwe_taxa_come_from_the_rule() -> None:
    doc = _log({"ruleIndex": 0, "message": {"id": "default", "arguments": ["x"]}, "locations": []})
    doc["runs"][0]["tool"]["driver"]["rules"] = [
        {
            "id": "R1",
            "properties": {"security-severity": "9.8", "tags": ["external/cwe/cwe-089"]},
            "messageStrings": {"default": {"text": "tainted {0}"}},
            "relationships": [{"target": {"id": "79", "toolComponent": {"name": "CWE"}}}],
        }
    ]
    (result,) = sarif.parse(doc)[0].results
    assert (result.rule_id, result.severity, result.message) == ("R1", "critical", "tainted x")
    assert result.cwes == ["CWE-79", "CWE-89"]


def test_every_problem_is_named_by_its_json_path() -> None:
    doc = _log(
        {
            "ruleIndex": 7,
            "message": {"text": 3},
            "locations": [{"physicalLocation": {"artifactLocation": {"index": 2}, "region": {"startLine": -1}}}],
            "suppressions": [{"kind": "nowhere"}],
            "baselineState": "old",
        }
    )
    assert _problems(doc) == [
        "runs[0].results[0].ruleIndex",
        "runs[0].results[0].locations[0].physicalLocation.artifactLocation.index",
        "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri",
        "runs[0].results[0].locations[0].physicalLocation.region.startLine",
        "runs[0].results[0].baselineState",
        "runs[0].results[0].message.text",
        "runs[0].results[0].suppressions[0].kind",
    ]
    assert _problems({"version": "2.0.0", "runs": []}) == ["version"]
    assert _problems({"version": "2.1.0"}) == ["runs"]
    assert _problems({"version": "2.1.0", "runs": [{"tool": {}}]}) == ["runs[0].tool.driver.name"]
    assert _problems([1, 2]) == ["$"]


def test_a_report_that_is_not_json_says_where_it_breaks() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_report(b'{"version": "2.1.0",\n "runs": [}')
    assert caught.value.problems[0].loc == "line 2 column 11"
    with pytest.raises(InvalidInput, match="unknown report format"):
        parse_report(json.dumps({"hello": 1}).encode())


def test_the_fast_path_reads_every_fixture_exactly_as_the_careful_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(dojo("sarif").glob("*.sarif")) + [
        peers("sast", "runs", n) for n in ("bandit.sarif", "semgrep.sarif")
    ]
    fast = [sarif.parse(load(f)) for f in files]
    monkeypatch.setattr(sarif, "_fast_result", lambda *args: None)
    careful = [sarif.parse(load(f)) for f in files]
    assert fast == careful
    assert sum(len(run.results) for runs in careful for run in runs) > 3900
