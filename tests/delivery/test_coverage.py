"""Cobertura, LCOV and JaCoCo written by gcovr for one measurement agree with each other and with gcovr's text
summary, file by file; coverage.py JSON reads its summaries; bad reports are refused with where they broke."""

from __future__ import annotations

import json

import pytest

from mamori.delivery.parsers import coverage
from tests.support import peers

GCOVR = ("delivery", "gcovr+gcovr", "tests", "nested", "reference", "linked", "gcc-5")


def _summary() -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """gcovr's coverage.txt: per file (lines, executed) and the TOTAL row."""
    files: dict[str, tuple[int, int]] = {}
    total = (0, 0)
    for line in peers(*GCOVR, "coverage.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1].isdigit() and parts[2].isdigit():
            if parts[0] == "TOTAL":
                total = (int(parts[1]), int(parts[2]))
            else:
                files[parts[0]] = (int(parts[1]), int(parts[2]))
    return files, total


@pytest.mark.parametrize("name", ["cobertura.xml", "coverage.lcov", "jacoco.xml"])
def test_each_format_gives_gcovr_summary_file_by_file(name: str) -> None:
    report = coverage.parse(peers(*GCOVR, name).read_bytes())
    files, total = _summary()
    assert len(files) == 8 and total == (42, 25)
    got = {}
    for path, counts in report.files.items():
        match = [f for f in files if path == f or path.endswith("/" + f)]
        assert len(match) == 1, path
        got[match[0]] = (counts.lines_valid, counts.lines_covered)
    assert got == files
    assert (report.lines_valid, report.lines_covered) == total


def test_the_formats_agree_on_branches_with_coberturas_totals() -> None:
    reports = [coverage.parse(peers(*GCOVR, n).read_bytes()) for n in ("cobertura.xml", "coverage.lcov", "jacoco.xml")]
    assert {r.format for r in reports} == {"cobertura", "lcov", "jacoco"}
    cobertura_root = peers(*GCOVR, "cobertura.xml").read_text(encoding="utf-8")
    assert 'branches-covered="4" branches-valid="14"' in cobertura_root
    assert {(r.branches_valid, r.branches_covered) for r in reports} == {(14, 4)}


def test_coveragepy_json_reads_the_per_file_summaries() -> None:
    doc = {
        "meta": {"format": 3, "version": "7.6.1", "branch_coverage": True},
        "files": {
            "app/models.py": {
                "executed_lines": [1, 2],
                "summary": {
                    "covered_lines": 8,
                    "num_statements": 10,
                    "num_branches": 4,
                    "covered_branches": 3,
                    "percent_covered": 78.6,
                },
            },
            "app/views.py": {
                "executed_lines": [],
                "summary": {
                    "covered_lines": 0,
                    "num_statements": 5,
                    "num_branches": 0,
                    "covered_branches": 0,
                    "percent_covered": 0.0,
                },
            },
        },
        "totals": {"covered_lines": 8, "num_statements": 15},
    }
    report = coverage.parse(json.dumps(doc).encode())
    assert report.format == "coveragepy"
    assert (report.lines_valid, report.lines_covered, report.branches_valid, report.branches_covered) == (15, 8, 4, 3)
    with pytest.raises(coverage.CoverageError, match=r"files\.app/x\.py\.summary"):
        coverage.parse(b'{"files": {"app/x.py": {"summary": {"covered_lines": 1}}}}')


def test_bad_reports_say_where_they_broke() -> None:
    with pytest.raises(coverage.CoverageError, match="line 2"):
        coverage.parse(b"SF:a.c\nDA:1\nend_of_record\n")
    with pytest.raises(coverage.CoverageError, match="outside a record"):
        coverage.parse(b"TN:x\nDA:1,1\n")
    with pytest.raises(coverage.CoverageError, match="not a coverage report"):
        coverage.parse(b"hello")
    with pytest.raises(coverage.CoverageError, match="line 1, column"):
        coverage.parse(b"<coverage><packages>", "cobertura")
