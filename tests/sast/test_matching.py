"""Matching a scan to the previous ones, through the service and the database, on DefectDojo's line-shift
and reimport fixtures (expected counts from its SOURCE.md) and on Mamori's own edits of a real file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from mamori.core.runtime import Runtime
from mamori.sast.models import SastFinding, SastScan, SastScanResult
from tests.sast.helpers import dojo, upload
from tests.support import peers

ZERO = {"new": 0, "unchanged": 0, "moved": 0, "reopened": 0, "fixed": 0}


def _counts(**kw: int) -> dict[str, int]:
    return {**ZERO, **kw}


def _findings(runtime: Runtime, **where: Any) -> list[SastFinding]:
    with runtime.sessions() as session:
        stmt = select(SastFinding).filter_by(**where).order_by(SastFinding.path, SastFinding.line)
        return list(session.scalars(stmt))


def test_semgrep_close_old_findings_follows_the_tools_fingerprint(runtime: Runtime) -> None:
    """Dojo: run 1 -> 1 new; run 2 (moved 31 -> 24, same fingerprint) closes nothing; run 3 (another
    fingerprint) -> 1 new, 1 closed."""
    assert upload(runtime, dojo("semgrep", "close_old_findings_report_line31.json"), commit="c1") == _counts(new=1)
    second = upload(runtime, dojo("semgrep", "close_old_findings_report_second_run_line24.json"), commit="c2")
    assert second == _counts(moved=1)  # same repo: matched by identity, so not new (Dojo: other engagement)
    (finding,) = _findings(runtime)
    assert (finding.line, finding.open) == (24, True)
    third = upload(
        runtime, dojo("semgrep", "close_old_findings_report_third_run_different_unique_id.json"), commit="c3"
    )
    assert third == _counts(new=1, fixed=1)
    assert sorted((f.line, f.open, f.state) for f in _findings(runtime)) == [(24, False, "fixed"), (24, True, "new")]


def test_semgrep_line_shift_keeps_every_identity(runtime: Runtime) -> None:
    """Dojo: the 1.30.0 reports give the same findings with identical unique ids pairwise."""
    assert upload(runtime, dojo("semgrep", "semgrep_version_1_30_0_line_26.json"), commit="c1") == _counts(new=5)
    assert upload(runtime, dojo("semgrep", "semgrep_version_1_30_0_line_27.json"), commit="c2") == _counts(unchanged=5)
    assert len(_findings(runtime, open=True)) == 5


def test_sarif_reimport_of_a_subset_finds_four_duplicates(runtime: Runtime) -> None:
    """Dojo: one import has no duplicates; full then subset -> 4 duplicates. A full rescan closes the fifth."""
    assert upload(runtime, dojo("sarif", "bash-report-fabricated-no-internal-dupes.sarif")) == _counts(new=5)
    subset = dojo("sarif", "bash-report-fabricated-no-internal-dupes-subset.sarif")
    assert upload(runtime, subset, commit="c2") == _counts(unchanged=4, fixed=1)
    assert len(_findings(runtime, open=True)) == 4


def test_a_partial_upload_never_closes_findings_outside_its_scope(runtime: Runtime) -> None:
    assert upload(runtime, dojo("sarif", "bash-report-fabricated-no-internal-dupes.sarif")) == _counts(new=5)
    subset = dojo("sarif", "bash-report-fabricated-no-internal-dupes-subset.sarif")
    scoped = ["home/damien/dd/docker/", "home/damien/dd/entrypoint_scripts/"]
    assert upload(runtime, subset, commit="c2", scanned_paths=scoped) == _counts(unchanged=4)
    assert len(_findings(runtime, open=True)) == 5
    assert upload(runtime, subset, commit="c3", pr=12) == _counts(unchanged=4)  # a PR scan closes nothing
    assert len(_findings(runtime, open=True)) == 5


def test_results_repeated_within_one_scan_are_one_finding(runtime: Runtime) -> None:
    same = dojo("sarif", "bash-report-subset-same-hash-code-same-unique-id.sarif")
    assert upload(runtime, same) == _counts(new=2)
    with runtime.sessions() as session:
        occurrences = sorted(session.scalars(select(SastScanResult.occurrences)))
    assert occurrences == [1, 3]


def test_fixed_then_back_is_reopened_and_keeps_its_triage(runtime: Runtime) -> None:
    full = dojo("sarif", "bash-report-fabricated-no-internal-dupes.sarif")
    subset = dojo("sarif", "bash-report-fabricated-no-internal-dupes-subset.sarif")
    upload(runtime, full)
    upload(runtime, subset, commit="c2")
    assert upload(runtime, full, commit="c3") == _counts(unchanged=4, reopened=1)
    (back,) = [f for f in _findings(runtime) if f.reopen_count]
    assert (back.open, back.state, back.reopen_count) == (True, "new", 1)


def _sarif(path: str, line: int, *, rule: str = "B605", message: str = "shell call") -> bytes:
    result = {
        "ruleId": rule,
        "message": {"text": message},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": line}}}],
    }
    log = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "Bandit", "rules": [{"id": rule}]}}, "results": [result]}],
    }
    return json.dumps(log).encode()


def _store(runtime: Runtime, tmp_path: Path, payload: bytes, source: str, *, commit: str) -> dict[str, int]:
    from mamori.sast.service import intake
    from mamori.sast.service.scans import Upload

    with runtime.sessions.begin() as session:
        (scan,) = intake.upload(
            session,
            payload=payload,
            upload=Upload(repo="acme/shop", commit=commit),
            now=runtime.now(),
            bus=runtime.bus,
            read=lambda p: source,
        )
        return dict(scan.counts)


def test_a_real_file_edited_above_and_reindented_keeps_the_finding(runtime: Runtime, tmp_path: Path) -> None:
    """Mamori's own edit of a BenchmarkPython test case: the line hash is computed from the source."""
    original = peers("sast", "BenchmarkPython", "testcode", "BenchmarkTest00001.py").read_text()
    lines = original.splitlines(keepends=True)
    target = next(i for i, text in enumerate(lines) if "open(" in text or "execute" in text or "system" in text) + 1
    assert _store(runtime, tmp_path, _sarif("testcode/t.py", target), original, commit="c1") == _counts(new=1)
    header = "# a comment\n\nimport logging\nlog = logging.getLogger(__name__)\n"
    edited = header + "".join("\t" + text if text.strip() else text for text in lines)  # re-indent everything
    moved_to = target + 4
    assert _store(runtime, tmp_path, _sarif("testcode/t.py", moved_to), edited, commit="c2") == _counts(moved=1)
    # the flagged line itself is edited: same rule, message and line still match it
    rewritten = edited.splitlines(keepends=True)
    rewritten[moved_to - 1] = rewritten[moved_to - 1].rstrip("\n") + "  # reviewed\n"
    assert _store(runtime, tmp_path, _sarif("testcode/t.py", moved_to), "".join(rewritten), commit="c3") == _counts(
        unchanged=1
    )
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SastFinding)) == 1
        assert session.scalar(select(func.count()).select_from(SastScan)) == 3


def test_two_tools_at_the_same_place_are_one_finding_with_two_sources(runtime: Runtime, tmp_path: Path) -> None:
    source = "import os\n\ndef run(cmd):\n    os.system(cmd)\n"
    bandit = json.loads(_sarif("app.py", 4))
    bandit["runs"][0]["tool"]["driver"]["rules"][0]["properties"] = {"tags": ["external/cwe/cwe-78"]}
    semgrep = json.loads(_sarif("app.py", 4, rule="python.lang.security.audit.system-call", message="os.system"))
    semgrep["runs"][0]["tool"]["driver"].update(name="Semgrep OSS")
    semgrep["runs"][0]["tool"]["driver"]["rules"][0]["properties"] = {"tags": ["CWE-78: OS Command Injection"]}
    _store(runtime, tmp_path, json.dumps(bandit).encode(), source, commit="c1")
    _store(runtime, tmp_path, json.dumps(semgrep).encode(), source, commit="c1")
    (finding,) = _findings(runtime)
    from mamori.sast.service import queries

    with runtime.sessions() as session:
        assert queries.tools_by_finding(session, [finding.id]) == {finding.id: ["bandit", "semgrep"]}
