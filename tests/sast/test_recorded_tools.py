"""Real outputs of Bandit 1.9.4 (`bandit -f json`, then `-f sarif`) and Semgrep OSS 1.187.0 (`--json` and
`--sarif`, with the local rules of data/real/semgrep_rules.yaml, `--metrics=off`), recorded on a small file
Mamori wrote (data/real/jobs_first.py.txt) and on its edit (jobs_second.py.txt: lines inserted above, the
functions re-indented into a class): every finding keeps its identity across the edit, whichever format each
run used, and the two tools' reports of the same weakness at the same place are one finding.

Semgrep was run from a separate virtualenv under /tmp (`pip install semgrep`; it is not a dependency: its
wheel pins packages below our lock), on 2026-12-08."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.sast.models import SastFinding
from mamori.sast.service import intake, queries
from mamori.sast.service.scans import Upload

REAL = Path(__file__).parent / "data" / "real"


def _upload(runtime: Runtime, name: str, version: str, commit: str) -> dict[str, int]:
    source = (REAL / f"jobs_{version}.py.txt").read_text()
    with runtime.sessions.begin() as session:
        (scan,) = intake.upload(
            session, payload=(REAL / name).read_bytes(), upload=Upload(repo="acme/jobs", commit=commit),
            now=runtime.now(), bus=runtime.bus, read=lambda path: source if path == "app/jobs.py" else None,
        )  # fmt: skip
        return dict(scan.counts)


def test_the_recordings_are_bandits_own_output() -> None:
    first = json.loads((REAL / "bandit_first.json").read_text())
    second = json.loads((REAL / "bandit_second.sarif").read_text())
    assert [(r["test_id"], r["line_number"]) for r in first["results"]] == [("B404", 3), ("B602", 10), ("B324", 14)]
    (run,) = second["runs"]
    assert run["tool"]["driver"]["name"] == "Bandit"
    lines = [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]]
    assert lines == [("B404", 4), ("B602", 17), ("B324", 20)]


def test_recorded_bandit_runs_keep_identities_across_the_edit(runtime: Runtime) -> None:
    assert _upload(runtime, "bandit_first.json", "first", "c1")["new"] == 3
    moved = _upload(runtime, "bandit_second.sarif", "second", "c2")
    assert (moved["new"], moved["moved"], moved["fixed"]) == (0, 3, 0)
    with runtime.sessions() as session:
        findings = list(session.scalars(select(SastFinding).order_by(SastFinding.line, SastFinding.rule)))
    assert [(f.line, f.cwe) for f in findings] == [(4, "CWE-78"), (17, "CWE-78"), (20, "CWE-327")]


def test_the_semgrep_recordings_are_semgreps_own_output() -> None:
    for version, lines in (("first", [10, 14]), ("second", [17, 20])):
        data = json.loads((REAL / f"semgrep_{version}.json").read_text())
        assert data["version"] == "1.187.0"
        assert [(r["check_id"], r["start"]["line"]) for r in data["results"]] == list(
            zip(["subprocess-shell-true", "insecure-hash-md5"], lines, strict=True)
        )
        assert {r["extra"]["fingerprint"] for r in data["results"]} == {"requires login"}  # no login: no identity
        (run,) = json.loads((REAL / f"semgrep_{version}.sarif").read_text())["runs"]
        assert (run["tool"]["driver"]["name"], run["tool"]["driver"]["semanticVersion"]) == ("Semgrep OSS", "1.187.0")
        assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]] == lines


def test_recorded_semgrep_runs_keep_identities_across_the_edit_in_either_format(runtime: Runtime) -> None:
    assert _upload(runtime, "semgrep_first.json", "first", "c1")["new"] == 2
    moved = _upload(runtime, "semgrep_second.sarif", "second", "c2")
    assert (moved["new"], moved["moved"], moved["fixed"]) == (0, 2, 0)
    back = _upload(runtime, "semgrep_first.sarif", "first", "c3")  # the edit reverted, SARIF this time
    assert (back["new"], back["moved"], back["fixed"]) == (0, 2, 0)
    with runtime.sessions() as session:
        findings = list(session.scalars(select(SastFinding).order_by(SastFinding.line)))
    assert [(f.rule, f.line, f.cwe, f.severity) for f in findings] == [
        ("semgrep/subprocess-shell-true", 10, "CWE-78", "high"),
        ("semgrep/insecure-hash-md5", 14, "CWE-327", "medium"),
    ]


def test_bandit_and_semgrep_on_the_same_lines_are_one_finding_with_two_sources(runtime: Runtime) -> None:
    _upload(runtime, "bandit_first.json", "first", "c1")
    assert _upload(runtime, "semgrep_first.json", "first", "c1")["new"] == 2
    with runtime.sessions() as session:
        findings = list(session.scalars(select(SastFinding).order_by(SastFinding.line)))
        tools = queries.tools_by_finding(session, [f.id for f in findings])
    assert [(f.line, f.cwe, tools[f.id]) for f in findings] == [
        (3, "CWE-78", ["bandit"]),  # B404: importing subprocess, which Semgrep's rules do not flag
        (10, "CWE-78", ["bandit", "semgrep"]),
        (14, "CWE-327", ["bandit", "semgrep"]),
    ]
