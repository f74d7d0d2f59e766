"""Every comparison line OSV publishes for the ecosystems Mamori orders, read from the peers' data at test time."""

from __future__ import annotations

from pathlib import Path

import pytest

from mamori.vulns import versions
from tests.support import peers

FILES = {
    "PyPI": ["pypi-versions.txt", "pypi-versions-generated.txt"],
    "npm": ["semver-versions.txt"],
    "Go": ["semver-versions.txt"],
    "crates.io": ["semver-versions.txt"],
    "RubyGems": ["rubygems-versions.txt", "rubygems-versions-generated.txt"],
    "Maven": ["maven-versions.txt", "maven-versions-generated.txt"],
    "Packagist": ["packagist-versions.txt", "packagist-versions-generated.txt"],
    "NuGet": ["nuget-versions.txt"],
}
# lower bounds on how many lines each ecosystem must check, so the test cannot pass on an empty read
MINIMUM = {
    "PyPI": 12_000,
    "npm": 70,
    "Go": 70,
    "crates.io": 70,
    "RubyGems": 4_000,
    "Maven": 14_000,
    "Packagist": 10_000,
    "NuGet": 30,
}
OPS = {"<": -1, "=": 0, ">": 1}


def comparison_lines(path: Path) -> list[tuple[str, str, str, int]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("# ") or line.startswith("//"):
            continue
        a, op, b = line.split(" ")
        out.append((f"{path.name}:{number}", a, b, OPS[op]))
    return out


@pytest.mark.parametrize("ecosystem", sorted(FILES))
def test_ordering_matches_every_published_comparison(ecosystem: str) -> None:
    base = peers("vulns", "osv-scalibr", "semantic", "testdata")
    lines = [c for name in FILES[ecosystem] for c in comparison_lines(base / name)]
    if ecosystem == "Packagist":
        lines += comparison_lines(
            peers("vulns", "osv.dev", "osv", "ecosystems", "testdata", "packagist_test_cases.txt")
        )
    failures = []
    for where, a, b, want in lines:
        got, mirrored = versions.compare(ecosystem, a, b), versions.compare(ecosystem, b, a)
        if got != want or mirrored != -want:
            failures.append(f"{where}: {a} vs {b}: want {want}, got {got} (mirrored {mirrored})")
    assert len(lines) >= MINIMUM[ecosystem]
    assert not failures, f"{len(failures)}/{len(lines)} wrong:\n" + "\n".join(failures[:30])


def test_ecosystem_suffixes_use_the_base_ordering() -> None:
    assert versions.compare("Maven:https://repo.example", "1.0", "1.0-SNAPSHOT") == 1


def test_unknown_ecosystem_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="Hackage"):
        versions.compare("Hackage", "1", "2")
