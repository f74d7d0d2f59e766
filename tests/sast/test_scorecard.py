"""Scorecards computed as OWASP BenchmarkUtils computes them, checked category by category against the
recorded Bandit and Semgrep runs on BenchmarkPython (runs/scores.md)."""

from __future__ import annotations

import re

import pytest

from mamori.core.errors import InvalidInput
from mamori.sast import scorecard
from mamori.sast.result import Result
from mamori.sast.service.intake import parse_report
from tests.support import peers


def _recorded(tool: str) -> tuple[dict[str, tuple[int, int, int, int]], tuple[int, int, float, float, float]]:
    """scores.md's rows for one tool: category -> (TP, FN, TN, FP), and overall (TP, FP, TPR, FPR, score)."""
    text = peers("sast", "runs", "scores.md").read_text()
    section = text.split(f"### {tool}", 1)[1].split("###", 1)[0]
    rows: dict[str, tuple[int, int, int, int]] = {}
    overall: tuple[int, int, float, float, float] | None = None
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith("**overall"):
            numbers = [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?", " ".join(cells[1:]))]
            overall = (int(numbers[0]), int(numbers[1]), numbers[2], numbers[3], numbers[4])
        elif len(cells) == 8 and cells[1].isdigit():
            tp, fn, tn, fp = (int(c) for c in cells[1:5])
            rows[cells[0]] = (tp, fn, tn, fp)
    assert rows and overall
    return rows, overall


@pytest.mark.parametrize(("tool", "report"), [("bandit", "bandit.sarif"), ("semgrep", "semgrep.sarif"),
                                              ("bandit", "bandit.json"), ("semgrep", "semgrep.json")])  # fmt: skip
def test_scores_match_benchmarkutils_on_the_recorded_runs(tool: str, report: str) -> None:
    text = peers("sast", "BenchmarkPython", "expectedresults-0.1.csv").read_text()
    expected = scorecard.parse_expected(text)
    assert len(expected) == sum(1 for line in text.splitlines() if line.strip() and not line.startswith("#"))
    (run,) = parse_report(peers("sast", "runs", report).read_bytes())
    got = scorecard.score(tool, expected, scorecard.flagged(run.results))
    rows, (tp, fp, tpr, fpr, youden) = _recorded(tool)
    assert {c.category: (c.tp, c.fn, c.tn, c.fp) for c in got.categories} == rows
    assert (got.total("tp"), got.total("fp")) == (tp, fp)
    assert round(got.tpr * 100, 1) == tpr and round(got.fpr * 100, 1) == fpr
    assert round(got.score * 100, 1) == youden


def test_overall_rates_are_unweighted_means_of_the_categories() -> None:
    cases = [scorecard.Expected(f"BenchmarkTest{n:05d}", "big", n < 90, "CWE-89") for n in range(100)]
    cases += [scorecard.Expected("BenchmarkTest00100", "small", True, "CWE-78")]
    flagged = {f"BenchmarkTest{n:05d}": {"CWE-89"} for n in range(90)}  # every real sqli found, no false alarm
    got = scorecard.score("t", cases, flagged)
    assert got.tpr == pytest.approx(0.5)  # (100% + 0%) / 2, not 90 / 91
    assert got.fpr == 0.0 and got.precision == 1.0


def test_a_malformed_expected_results_file_names_the_line() -> None:
    with pytest.raises(InvalidInput) as caught:
        scorecard.parse_expected("# header\nBenchmarkTest00001,sqli,maybe,89\nBenchmarkTest00002,sqli\n")
    assert [p.loc for p in caught.value.problems] == ["line 2", "line 3"]


def _at(path: str, line: int, cwes: list[str]) -> Result:
    return Result(tool="t", rule_id="r", message="m", path=path, start_line=line, end_line=line, cwes=cwes)


def test_juice_shops_labelled_lines_score_vuln_lines_against_neutral_lines() -> None:
    """SOURCE.md: 41 vuln-lines (positives); neutral lines inside the snippets are the negatives."""
    text = peers("sast", "juice-shop+juice-shop", "DERIVED_vuln_lines.csv").read_text()
    labels = scorecard.parse_line_labels(text)
    assert sum(c.real for c in labels) == 41
    assert sum(not c.real for c in labels) == text.count(",neutral-line,")
    positive = next(c for c in labels if c.real)
    negative = next(c for c in labels if not c.real)
    results = [_at(*positive.test.rsplit(":", 1)[0:1], int(positive.test.rsplit(":", 1)[1]), []),
               _at(negative.test.rsplit(":", 1)[0], int(negative.test.rsplit(":", 1)[1]), ["CWE-79"])]  # fmt: skip
    got = scorecard.score("t", labels, scorecard.flagged_lines(results))
    assert (got.total("tp"), got.total("fp"), got.total("fn")) == (1, 1, 40)


def test_railsgoats_sink_locations_are_positives_that_need_their_cwe() -> None:
    text = peers("sast", "OWASP+railsgoat", "DERIVED_candidate_locations.csv").read_text()
    labels = scorecard.parse_line_labels(text)
    assert len(labels) == 19 and all(c.real for c in labels)  # SOURCE.md: 19 sink locations
    sqli = next(c for c in labels if c.cwe == "CWE-89")
    path, line = sqli.test.rsplit(":", 1)
    right = scorecard.score("t", labels, scorecard.flagged_lines([_at(path, int(line), ["CWE-89"])]))
    wrong = scorecard.score("t", labels, scorecard.flagged_lines([_at(path, int(line), ["CWE-79"])]))
    assert (right.total("tp"), wrong.total("tp")) == (1, 0)
