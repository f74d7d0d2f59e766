"""Real outputs of Semgrep 1.187 (with the local rules in data/real/rules.yaml) and Bandit 1.9.4, recorded on
a small file Mamori wrote and on its edit (lines inserted above, re-indented into a class, a `# nosec`
comment added); the formats are mixed on purpose (JSON then SARIF, SARIF then JSON)."""

from __future__ import annotations

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


def test_recorded_semgrep_and_bandit_runs_keep_identities_across_the_edit(runtime: Runtime) -> None:
    assert _upload(runtime, "semgrep_first.json", "first", "c1")["new"] == 2
    assert _upload(runtime, "bandit_first.sarif", "first", "c1")["new"] == 3
    semgrep = _upload(runtime, "semgrep_second.sarif", "second", "c2")
    bandit = _upload(runtime, "bandit_second.json", "second", "c2")
    assert (semgrep["new"], semgrep["moved"], semgrep["fixed"]) == (0, 2, 0)
    assert (bandit["new"], bandit["moved"], bandit["fixed"]) == (0, 3, 0)
    with runtime.sessions() as session:
        findings = list(session.scalars(select(SastFinding).order_by(SastFinding.line, SastFinding.rule)))
        tools = queries.tools_by_finding(session, [f.id for f in findings])
    # Bandit's B602 and Semgrep's shell=True rule agree on CWE-78 at the same line: one finding, two sources;
    # on MD5 they disagree on the CWE (327 vs 328), so those stay two findings
    assert [(f.line, f.cwe, tools[f.id]) for f in findings] == [
        (3, "CWE-78", ["bandit"]),  # B404: import subprocess
        (10, "CWE-78", ["bandit", "semgrep"]),
        (13, "CWE-327", ["bandit"]),
        (13, "CWE-328", ["semgrep"]),
    ]
    assert [f.suppressed for f in findings] == [False, False, True, False]  # nosec speaks to Bandit only
