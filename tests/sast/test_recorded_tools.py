"""Real outputs of Bandit 1.9.4 (`bandit -f json`, then `-f sarif`), recorded on a small file Mamori wrote
(data/real/jobs_first.py.txt) and on its edit (jobs_second.py.txt: lines inserted above, the functions
re-indented into a class): every finding keeps its identity across the edit, whichever format each run used.

Recorded Semgrep outputs were lost on 2026-12-07 (the repository ignored every `data/` folder, so they never
reached git) and could not be recorded again here: Semgrep's wheel pins packages below our lock."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.sast.models import SastFinding
from mamori.sast.service import intake
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
