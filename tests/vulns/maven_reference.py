"""Maven's own ComparableVersion (Debian's libmaven3-core-java), run as the reference for version order."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import IN_CI, require_binary

MAVEN_JAR = Path("/usr/share/java/maven-artifact-3.x.jar")
_SIGNS = {"<": -1, "==": 0, ">": 1}


def compare_chain(chain: list[str]) -> list[int]:
    """Maven's verdict on each neighbouring pair of `chain` (its main() compares each argument with the next)."""
    java = require_binary("java")
    if not MAVEN_JAR.is_file():
        if IN_CI:
            pytest.fail(f"{MAVEN_JAR} missing; .ci/run installs libmaven3-core-java")
        pytest.skip(f"{MAVEN_JAR} is not installed (Debian libmaven3-core-java)")
    verdicts: list[int] = []
    step = 4000
    for start in range(0, max(len(chain) - 1, 0), step):
        part = chain[start : start + step + 1]
        out = subprocess.run(
            [java, "-cp", str(MAVEN_JAR), "org.apache.maven.artifact.versioning.ComparableVersion", *part],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        found = [_SIGNS[line.split()[-2]] for line in out.splitlines() if line.startswith("   ")]
        assert len(found) == len(part) - 1, "unexpected ComparableVersion output"
        verdicts.extend(found)
    return verdicts


def compare_pairs(pairs: list[tuple[str, str]]) -> list[int]:
    """Maven's verdict on each (a, b)."""
    chain = [v for pair in pairs for v in pair]
    return compare_chain(chain)[::2]
