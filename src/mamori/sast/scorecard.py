"""Scoring a tool against ground truth as OWASP BenchmarkUtils does.

A labelled test case is flagged when the tool reports, in that test case's file, a result whose CWE is the
case's CWE (exactly); a labelled line (Juice Shop, RailsGoat) when a result covers that line (with the
label's CWE when it names one). Per category: TP, FN (real and flagged or not), TN, FP (not real and not flagged or
flagged); TPR = TP/(TP+FN), FPR = FP/(FP+TN), score (Youden's J) = TPR - FPR. Overall TPR and FPR are the
unweighted means of the categories' (every category counts once, whatever its size), the overall score is
their difference, and overall precision is total TP over total TP+FP.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mamori.core.errors import InvalidInput, Problem
from mamori.sast.result import Result

_TEST_NAME = re.compile(r"(BenchmarkTest\d+)")


@dataclass(frozen=True)
class Expected:
    """One labelled test case: its name, category, whether it is a real vulnerability, and its CWE."""

    test: str
    category: str
    real: bool
    cwe: str


@dataclass
class CategoryScore:
    category: str
    cwe: str
    tp: int = 0
    fn: int = 0
    tn: int = 0
    fp: int = 0

    @property
    def tpr(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def fpr(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    @property
    def score(self) -> float:
        return self.tpr - self.fpr

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None


@dataclass
class ToolScore:
    tool: str
    categories: list[CategoryScore] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(int(getattr(c, name)) for c in self.categories)

    @property
    def tpr(self) -> float:
        return sum(c.tpr for c in self.categories) / len(self.categories) if self.categories else 0.0

    @property
    def fpr(self) -> float:
        return sum(c.fpr for c in self.categories) / len(self.categories) if self.categories else 0.0

    @property
    def score(self) -> float:
        return self.tpr - self.fpr

    @property
    def precision(self) -> float | None:
        tp, fp = self.total("tp"), self.total("fp")
        return tp / (tp + fp) if tp + fp else None


def parse_expected(text: str, *, source: str = "expected results") -> list[Expected]:
    """BenchmarkUtils' expectedresults CSV: `# test name, category, real vulnerability, cwe, ...` then rows."""
    out: list[Expected] = []
    problems: list[Problem] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 4:
            problems.append(Problem(loc=f"line {number}", msg="expected: test name, category, real, cwe", file=source))
            continue
        name, category, real, cwe = (part.strip() for part in row[:4])
        if real.lower() not in ("true", "false") or not cwe.isdigit():
            problems.append(Problem(loc=f"line {number}", msg=f"bad real/cwe: {real!r}, {cwe!r}", file=source))
            continue
        out.append(Expected(test=name, category=category, real=real.lower() == "true", cwe=f"CWE-{int(cwe)}"))
    if problems:
        raise InvalidInput("not a BenchmarkUtils expected-results file", problems=problems[:50])
    return out


ANY_CWE = "*"
"""The CWE of a labelled line whose label names no CWE (Juice Shop's): any result there flags it."""


def _line_label(row: dict[str, str], number: int, problems: list[Problem], source: str) -> Expected | None:
    if "marker" in row and (row.get("marker") or "").strip() not in ("vuln-line", "neutral-line"):
        return None  # Juice Shop's snippet ranges say where a challenge's code is, not what is vulnerable
    place = (row.get("file") or "").strip()
    line = (row.get("line") or row.get("line_or_range") or "").strip()
    if not place or not line.isdigit():
        problems.append(
            Problem(loc=f"line {number}", msg=f"expected a file and a line number, got {line!r}", file=source)
        )
        return None
    if "marker" in row:  # Juice Shop: vuln-line = positive, neutral-line = negative, snippet ranges skipped
        marker = (row.get("marker") or "").strip()
        real = {"vuln-line": True, "neutral-line": False}.get(marker)
        if real is None:
            return None
        return Expected(test=f"{place}:{line}", category=(row.get("category") or "").strip(), real=real, cwe=ANY_CWE)
    cwe_id = (row.get("cwe") or "").strip()
    if not cwe_id.isdigit():
        problems.append(Problem(loc=f"line {number}.cwe", msg=f"expected a CWE number, got {cwe_id!r}", file=source))
        return None
    category = (row.get("vuln_class") or row.get("category") or f"CWE-{cwe_id}").strip()
    return Expected(test=f"{place}:{line}", category=category, real=True, cwe=f"CWE-{int(cwe_id)}")


def parse_line_labels(text: str, *, source: str = "labelled lines") -> list[Expected]:
    """Labelled lines: Juice Shop's (challenge_key, file, marker, line_or_range, category) with vuln-line and
    neutral-line markers, or positives only (vuln_class, cwe, file, line) as RailsGoat's sink locations."""
    problems: list[Problem] = []
    out = []
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        label = _line_label(row, number, problems, source)
        if label is not None:
            out.append(label)
    if problems:
        raise InvalidInput("not a labelled-lines file", problems=problems[:50])
    return out


def flagged_lines(results: Iterable[Result], *, tolerance: int = 0) -> dict[str, set[str]]:
    """ "path:line" -> the CWEs a tool reported covering that line (and ANY_CWE), `tolerance` lines around."""
    out: dict[str, set[str]] = {}
    for result in results:
        first = max(1, result.start_line - tolerance)
        last = max(result.end_line, result.start_line) + tolerance
        for line in range(first, last + 1):
            out.setdefault(f"{result.path}:{line}", {ANY_CWE}).update(result.cwes)
    return out


def flagged(results: Iterable[Result]) -> dict[str, set[str]]:
    """Test case name -> the CWEs a tool reported in that test case's file."""
    out: dict[str, set[str]] = {}
    for result in results:
        match = _TEST_NAME.search(result.path)
        if match:
            out.setdefault(match.group(1), set()).update(result.cwes)
    return out


def score(tool: str, expected: list[Expected], reported: dict[str, set[str]]) -> ToolScore:
    by_category: dict[str, CategoryScore] = {}
    for case in expected:
        cat = by_category.setdefault(case.category, CategoryScore(category=case.category, cwe=case.cwe))
        hit = case.cwe in reported.get(case.test, set())
        if case.real:
            cat.tp, cat.fn = cat.tp + hit, cat.fn + (not hit)
        else:
            cat.fp, cat.tn = cat.fp + hit, cat.tn + (not hit)
    return ToolScore(tool=tool, categories=[by_category[k] for k in sorted(by_category)])
