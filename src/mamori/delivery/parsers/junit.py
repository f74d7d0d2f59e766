"""JUnit XML test reports in their common variants (pytest, Jest, Mocha, Bazel, ScalaTest, xUnit, Surefire
reruns): each test case's outcome, duration and attempts, and which tests were flaky (pure; bytes in).

- The root is `<testsuites>` or a lone `<testsuite>`; suites may nest. Any other root is not JUnit.
- A case's outcome is the worst of its children: error > failure > skipped > passed (a case carrying
  several, as some reporters write, counts once).
- Surefire and pytest-rerunfailures write earlier attempts as `flakyFailure`/`flakyError` (the test
  passed at last) and `rerunFailure`/`rerunError` (it kept failing): the attempts are counted, and a case
  that passed after a failed attempt is flaky. A test id that appears several times in one report with
  both a pass and a failure is flaky too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeXml

OUTCOMES = ("passed", "failed", "error", "skipped")
OUTCOMES_WORST = ("skipped", "passed", "failed", "error")
SKIPPED_STATUSES = {"disabled", "skipped", "notrun", "not run", "ignored"}
"""`status` attribute values (GoogleTest, xUnit) that mean the case did not run."""
RETRY_TAGS = {"flakyFailure", "flakyError", "rerunFailure", "rerunError"}
MAX_BYTES = 50 * 1024 * 1024


class JUnitError(ValueError):
    """The report cannot be read as JUnit XML; the message says where and why."""


@dataclass(frozen=True)
class Case:
    test_id: str
    classname: str
    name: str
    outcome: str
    duration_s: float
    attempts: int
    flaky: bool
    message: str | None = None


@dataclass
class Report:
    cases: list[Case] = field(default_factory=list)
    suites: int = 0
    duration_s: float = 0.0
    declared: dict[str, int] = field(default_factory=dict)
    """Totals the suites' attributes declare (used when a report lists no cases)."""

    def count(self, outcome: str) -> int:
        """Runs (test case elements) with this outcome."""
        return sum(1 for c in self.cases if c.outcome == outcome)

    def tests(self) -> dict[str, int]:
        """Distinct tests by outcome (a test run several times takes its worst outcome); the suites'
        declared totals when the report lists no cases."""
        if not self.cases:
            return dict(self.declared)
        worst: dict[str, str] = {}
        for c in self.cases:
            if c.test_id not in worst or OUTCOMES_WORST.index(c.outcome) > OUTCOMES_WORST.index(worst[c.test_id]):
                worst[c.test_id] = c.outcome
        out = dict.fromkeys(OUTCOMES, 0)
        for outcome in worst.values():
            out[outcome] += 1
        return out

    @property
    def flaky(self) -> list[str]:
        ids = {c.test_id for c in self.cases if c.flaky}
        seen: dict[str, set[str]] = {}
        for c in self.cases:
            seen.setdefault(c.test_id, set()).add(c.outcome)
        ids.update(t for t, outcomes in seen.items() if "passed" in outcomes and outcomes & {"failed", "error"})
        return sorted(ids)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _seconds(value: str | None, where: str) -> float:
    if value is None or value.strip() == "":
        return 0.0
    try:
        seconds = float(value.strip().replace(",", ""))
    except ValueError:
        raise JUnitError(f"{where}: time={value!r} is not a number of seconds") from None
    return max(seconds, 0.0)


def _cases(element: Element, path: str) -> Iterator[tuple[Element, str]]:
    index = 0
    for child in element:
        tag = _local(child.tag)
        if tag == "testcase":
            index += 1
            yield child, f"{path}/testcase[{index}]"
        elif tag in ("testsuite", "testsuites"):
            yield from _cases(child, f"{path}/{tag}[@name={child.get('name', '')!r}]")


def _outcome(case: Element) -> tuple[str, str | None, int, bool]:
    tags = [(_local(c.tag), c) for c in case]
    names = {t for t, _ in tags}
    retries = sum(1 for t, _ in tags if t in RETRY_TAGS)
    for outcome, tag in (("error", "error"), ("failed", "failure"), ("skipped", "skipped")):
        if tag in names:
            element = next(c for t, c in tags if t == tag)
            return outcome, element.get("message"), 1 + retries, False
    if (case.get("status") or "").lower() in SKIPPED_STATUSES:
        return "skipped", None, 1, False
    flaky = any(t in ("flakyFailure", "flakyError") for t, _ in tags)
    return "passed", None, 1 + retries, flaky


def parse(data: bytes) -> Report:
    """A report from JUnit XML bytes; `JUnitError` names the line or element that is wrong."""
    if len(data) > MAX_BYTES:
        raise JUnitError(f"the report is larger than {MAX_BYTES} bytes")
    try:
        root = SafeXml.fromstring(data)
    except SafeXml.ParseError as exc:
        line, column = exc.position
        raise JUnitError(f"not well-formed XML at line {line}, column {column}") from None
    except DefusedXmlException as exc:
        raise JUnitError(f"refused: {exc}") from None
    tag = _local(root.tag)
    if tag not in ("testsuites", "testsuite"):
        raise JUnitError(f"the root element is <{tag}>, not <testsuites> or <testsuite>: not a JUnit report")
    report = Report()
    suites = [root] if tag == "testsuite" else []
    suites += [e for e in root.iter() if _local(e.tag) == "testsuite" and e is not root]
    report.suites = len(suites)
    report.declared = _declared(root if tag == "testsuite" else None, [e for e in root if _local(e.tag) == "testsuite"])
    wrapper = Element("wrapper")
    wrapper.append(root)
    for case, where in _cases(wrapper, ""):
        classname = case.get("classname") or case.get("class") or ""
        name = case.get("name") or ""
        outcome, message, attempts, flaky = _outcome(case)
        test_id = f"{classname}::{name}" if classname else name
        report.cases.append(
            Case(
                test_id=test_id or f"(unnamed{where})",  # a case without a name is never the same test as another
                classname=classname,
                name=name,
                outcome=outcome,
                duration_s=_seconds(case.get("time"), where),
                attempts=attempts,
                flaky=flaky,
                message=message,
            )
        )
    report.duration_s = _suite_time(root, report)
    return report


def _suite_time(root: Element, report: Report) -> float:
    """The report's wall time: the root's own time, else its top suites' times, else the cases' sum."""
    if root.get("time"):
        return _seconds(root.get("time"), _local(root.tag))
    top = [e for e in root if _local(e.tag) == "testsuite"]
    if top and all(e.get("time") for e in top):
        return sum(_seconds(e.get("time"), "testsuite") for e in top)
    return sum(c.duration_s for c in report.cases)


def _int_attr(element: Element, name: str) -> int:
    try:
        return max(int(float(element.get(name) or 0)), 0)
    except ValueError:
        raise JUnitError(f"<{_local(element.tag)} name={element.get('name', '')!r}>: {name}= is not a number") from None


def _declared(root_suite: Element | None, top: list[Element]) -> dict[str, int]:
    suites = [root_suite] if root_suite is not None else top
    totals = {
        k: sum(_int_attr(s, a) for s in suites)
        for k, a in (("tests", "tests"), ("failed", "failures"), ("error", "errors"), ("skipped", "skipped"))
    }
    return {
        "passed": max(totals["tests"] - totals["failed"] - totals["error"] - totals["skipped"], 0),
        "failed": totals["failed"],
        "error": totals["error"],
        "skipped": totals["skipped"],
    }
