"""The interval index answers exactly like the OSV schema's evaluation (`osv.affects`) on random ranges."""

from __future__ import annotations

import random

import pytest

from mamori.vulns import osv
from mamori.vulns.intervals import PackageTable

VERSIONS = {
    "PyPI": ["0.9", "1.0", "1.0.post1", "1.0a1", "1.1", "1.10", "2.0.0", "2.0rc1", "2!0.1", "3.0.dev1"],
    "npm": ["0.0.1", "1.0.0", "1.0.0-alpha", "1.0.0-rc.1", "1.2.3", "1.10.0", "2.0.0", "2.0.0-beta.2", "10.0.0"],
    "RubyGems": ["0.9", "1.0", "1.0.0.1", "1.0.a", "1.0.pre.1", "1.1", "1.10", "2", "2.0.0.rc1", "3.a.0.b"],
    "Maven": ["1.0", "1.0-SNAPSHOT", "1.0-alpha-1", "1.0.1", "1.1", "1.10", "2.0-RC1", "2.0", "2.0.Final", "3"],
    "Packagist": ["1.0.0", "1.0.0-beta", "1.0.0-RC1", "1.0.1", "1.1", "1.10.0", "2.0.0", "2.0.0-alpha2", "v3.0"],
    "Go": ["0.1.0", "1.0.0", "1.0.0-20200101000000-abcdef", "1.2.0", "1.10.0", "2.0.0+incompatible", "2.1.0"],
    "crates.io": ["0.1.0", "0.1.1", "1.0.0-alpha", "1.0.0", "1.2.0", "1.10.3", "2.0.0"],
    "NuGet": ["1.0.0", "1.0.0-beta", "1.0.0.1", "1.1.0", "1.10.0", "2.0.0-rc.1", "2.0.0"],
}


def _random_affected(rng: random.Random, eco: str) -> osv.Affected:
    pool = VERSIONS[eco]
    ranges = []
    for _ in range(rng.randint(1, 3)):
        events = [osv.Event("introduced", rng.choice(["0", *pool]))]
        for _ in range(rng.randint(0, 3)):
            events.append(osv.Event(rng.choice(["introduced", "fixed", "fixed", "last_affected"]), rng.choice(pool)))
        if rng.random() < 0.2:
            events.append(osv.Event("limit", rng.choice([*pool, "*"])))
        rng.shuffle(events)
        ranges.append(osv.Range(rng.choice(["ECOSYSTEM", "ECOSYSTEM", "SEMVER", "GIT"]), tuple(events)))
    listed = frozenset(rng.sample(pool, rng.randint(0, 2)))
    return osv.Affected(eco, "pkg", None, listed, tuple(ranges))


@pytest.mark.parametrize("eco", sorted(VERSIONS))
def test_interval_table_agrees_with_the_schema_evaluation(eco: str) -> None:
    rng = random.Random(eco)
    checked = 0
    for _ in range(150):
        entries = [_random_affected(rng, eco) for _ in range(rng.randint(1, 4))]
        table = PackageTable(entries)
        for version in [*VERSIONS[eco], "0", "99.0.0"]:
            expected = [i for i, aff in enumerate(entries) if osv.affects(aff, version)]
            assert list(table.hits(version)) == expected, (eco, version, entries)
            checked += 1
    assert checked > 1000
