"""Scoring a tool against ground truth as OWASP BenchmarkUtils does.

A labelled test case is flagged when the tool reports, in that test case's file, a result whose CWE is the
case's CWE (exactly). Per category: TP, FN (real and flagged or not), TN, FP (not real and not flagged or
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
