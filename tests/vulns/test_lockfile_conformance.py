"""osv-scanner's lockfile expectations (read at test time from the peers' expected-packages.json) for our parsers."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from mamori.vulns.lockfiles import LockfileError, js, others, python
from tests.support import has_peers, peers

PARSERS = {
    "ParseGemfileLock": others.parse_gemfile_lock,
    "ParseNpmLock": js.parse_package_lock,
    "ParseYarnLock": js.parse_yarn_lock,
    "ParsePnpmLock": js.parse_pnpm_lock,
    "ParsePoetryLock": python.parse_poetry_lock,
    "ParsePipenvLock": python.parse_pipfile_lock,
    "ParseGoLock": others.parse_go_mod,
    "ParseCargoLock": others.parse_cargo_lock,
    "ParseComposerLock": others.parse_composer_lock,
    "ParseRequirementsTxt": python.parse_requirements,
}
# Deliberate differences from osv-scanner v1, each with its reason.
DIVERGES = {
    # the issue asks for pinned requirements only: bare names and ranges (osv-scanner's "0.0.0") are skipped
    "ParseRequirementsTxt": lambda p: p["Version"] != "0.0.0",
    # a Berry workspace's own packages (0.0.0-use.local) are the project itself, not a dependency to match
    "ParseYarnLock": lambda p: p["Version"] != "0.0.0-use.local",
}
# Per fixture: expected packages left out on purpose. Requirements with a lower bound only (`>=`, `~=`) are not
# pins, so Mamori does not pretend the bound is the installed version (osv-scanner v1 reports the bound).
NOT_PINNED = {
    "TestParseRequirementsTxt_FileFormatExample": {("keyring", "4.1.1"), ("mopidy-dirble", "1.1")},
    "TestParseRequirementsTxt_WithPerRequirementOptions": {("barproject", "1.2")},
}
# Per fixture: what Mamori reads instead, and why. pip joins `4.5\\` + `.6` into `4.5.6` (it strips every
# trailing backslash of a continued line); osv-scanner v1 keeps the backslashes and drops the next line.
READS_AS_PIP = {
    "TestParseRequirementsTxt_LineContinuation": {("bar", "4.5\\\\"): ("bar", "4.5.6")},
}


def _name(parser: str, name: str) -> str:
    """Requirements keep the name as written (shown as the project spells it); osv-scanner lowercases it and
    matching compares PEP 503 names anyway, so the comparison does too."""
    return re.sub(r"[-_.]+", "-", name).lower() if parser == "ParseRequirementsTxt" else name


# Per fixture osv-scanner rejects but Mamori reads, and what it must find. A v5 pnpm lockfile with one key in
# the v6 form (`axios@1.2.5`) is refused whole by osv-scanner; Mamori reads that key as v6 and keeps the rest,
# since refusing it would hide every other package of the file from the scan.
READ_INSTEAD_OF_ERROR = {
    "TestParsePnpmLock_InvalidPackagePath": {("axios", "1.2.5"), ("pinia", "2.0.28"), ("@babel/parser", "7.20.7")},
}
# Fixtures our parsers do not yet read as osv-scanner does; strict so each entry must be removed once fixed.
KNOWN_GAPS: set[str] = set()


def _cases() -> list[dict[str, object]]:
    data = json.loads(peers("vulns", "osv-scanner", "pkg", "lockfile", "expected-packages.json").read_text())
    return [c for c in data["cases"] if c["parser"] in PARSERS]


def test_expectations_cover_every_supported_parser() -> None:
    cases = _cases()
    assert len(cases) >= 150
    assert len(cases) - len(KNOWN_GAPS) >= 120  # cases that must pass
    assert {c["parser"] for c in cases} == set(PARSERS)


@pytest.mark.parametrize(
    "case",
    _cases() if has_peers("vulns", "osv-scanner") else [pytest.param({}, id="peer-data-missing")],
    ids=lambda c: str(c["test"]),
)
def test_parser_finds_exactly_the_expected_packages(case: dict, request: pytest.FixtureRequest) -> None:
    root = peers("vulns", "osv-scanner")
    if case["test"] in KNOWN_GAPS:
        request.applymarker(
            pytest.mark.xfail(
                reason="known parser gap, see KNOWN_GAPS", strict=True, raises=(AssertionError, LockfileError)
            )
        )
    fixture = root / Path(case["fixture"])
    parser = PARSERS[case["parser"]]
    if case["test"] in READ_INSTEAD_OF_ERROR:
        assert READ_INSTEAD_OF_ERROR[case["test"]] <= {(c.name, c.version) for c in parser(fixture)}
        return
    if case["expect"] in ("error_is", "error_containing"):
        try:
            parser(fixture)
        except (LockfileError, FileNotFoundError):
            return
        raise AssertionError(f"{fixture} should have been rejected")
    name = case["parser"]
    got = Counter((_name(name, c.name), c.version) for c in parser(fixture))
    keep = DIVERGES.get(name, lambda p: True)
    skip = NOT_PINNED.get(case["test"], set())
    instead = READS_AS_PIP.get(case["test"], {})
    wanted = [(_name(name, p["Name"]), p["Version"]) for p in case["packages"] if keep(p)]
    want = Counter(instead.get(w, w) for w in wanted if w not in skip)
    if case["expect"] == "packages_subset":
        assert sum(got.values()) == case["expected_count"]
        assert not (want - got)
    else:
        assert got == want


def test_git_dependencies_carry_no_version_nor_the_credentials_in_their_url(tmp_path: Path) -> None:
    lock = tmp_path / "package-lock.json"
    url = "git+https://secret-token@github.com/o/is-number.git#af885e2e890b9ef0875edd2b117305119ee5bdc5"
    lock.write_text(json.dumps({"lockfileVersion": 1, "dependencies": {"is-number": {"version": url}}}))
    (component,) = js.parse_package_lock(lock)
    assert (component.name, component.version, component.purl) == ("is-number", "", "pkg:npm/is-number")


def test_requirements_join_continued_lines_as_pip_does_and_count_a_repeated_pin_once(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("Django==4.2.1\nrequests==2.31.0\n")
    (tmp_path / "dev.txt").write_text("-r base.txt\ndjango==4.2.1\npytest==\\\n  8.0.0 \\\n  --hash=sha256:00\n")
    got = [(c.name, c.version, Path(c.source_file).name) for c in python.parse_requirements(tmp_path / "dev.txt")]
    assert got == [("Django", "4.2.1", "base.txt"), ("requests", "2.31.0", "base.txt"), ("pytest", "8.0.0", "dev.txt")]
