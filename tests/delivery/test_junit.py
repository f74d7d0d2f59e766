"""JUnit XML in its common variants gives the test counts that publish-unit-test-result-action expects, and
a report that is not JUnit or not well-formed is refused with where it broke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mamori.delivery.parsers import junit
from tests.support import has_peers, peers

FILES = ("delivery", "EnricoMi+publish-unit-test-result-action", "python", "test", "files", "junit-xml")


def _expected() -> list[str]:
    if not has_peers(*FILES):
        return ["(peer data missing)"]
    root = peers(*FILES)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.results.json"))


@pytest.mark.parametrize("name", _expected())
def test_counts_per_test_match_the_expected_results(name: str) -> None:
    root = peers(*FILES)
    expected = json.loads((root / name).read_text(encoding="utf-8"))["stats"]
    xml = (root / name.replace(".results.json", ".xml")).read_bytes()
    if expected["errors"]:
        with pytest.raises(junit.JUnitError, match="not a JUnit report"):
            junit.parse(xml)
        return
    tests = junit.parse(xml).tests()
    assert (sum(tests.values()), tests["passed"], tests["skipped"], tests["failed"], tests["error"]) == (
        expected["tests"],
        expected["tests_succ"],
        expected["tests_skip"],
        expected["tests_fail"],
        expected["tests_error"],
    )


def test_a_corrupt_report_is_refused_with_its_line() -> None:
    path: Path = peers(*FILES, "pytest", "corrupt-xml.xml")
    with pytest.raises(junit.JUnitError, match=r"line 11, column"):
        junit.parse(path.read_bytes())


def test_durations_per_case_and_for_the_report() -> None:
    report = junit.parse(peers(*FILES, "junit.multiresult.xml").read_bytes())
    assert [c.duration_s for c in report.cases] == [0.123, 0.234, 0.345, 0.456]
    assert report.duration_s == pytest.approx(1.158)
    assert report.count("error") == 1 and report.cases[0].message == "test teardown failure"


def test_reruns_count_as_attempts_and_a_pass_after_a_failure_is_flaky() -> None:
    xml = b"""<testsuite name="s" tests="3">
      <testcase classname="a" name="flaky" time="1.5"><flakyFailure message="timeout"/></testcase>
      <testcase classname="a" name="broken" time="2"><rerunFailure/><rerunFailure/><failure message="no"/></testcase>
      <testcase classname="a" name="twice" time="1"/>
      <testcase classname="a" name="twice" time="1"><failure/></testcase>
    </testsuite>"""
    report = junit.parse(xml)
    by = {c.name: c for c in report.cases}
    assert (by["flaky"].outcome, by["flaky"].attempts, by["flaky"].flaky) == ("passed", 2, True)
    assert (by["broken"].outcome, by["broken"].attempts, by["broken"].flaky) == ("failed", 3, False)
    assert report.flaky == ["a::flaky", "a::twice"]


def test_entities_and_bad_times_are_refused_clearly() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><testsuite>&b;</testsuite>'
    with pytest.raises(junit.JUnitError, match="refused"):
        junit.parse(bomb)
    with pytest.raises(junit.JUnitError, match=r"testcase\[1\].*time='soon'"):
        junit.parse(b'<testsuite><testcase name="x" time="soon"/></testsuite>')
