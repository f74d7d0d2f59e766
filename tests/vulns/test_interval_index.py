"""The interval index answers exactly like the OSV schema's evaluation (`osv.affects`) on random ranges."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from mamori.vulns import osv
from mamori.vulns.components import Component
from mamori.vulns.intervals import PackageTable
from mamori.vulns.matcher import AdvisoryIndex

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


def test_index_scan_agrees_with_evaluating_every_record_one_by_one() -> None:
    """The index's precomputed, alias-merged answers per slot equal a brute-force pass over every record."""
    rng = random.Random(7)
    records = []
    for n in range(400):
        eco = rng.choice(sorted(VERSIONS))
        aff = _random_affected(rng, eco)
        name = rng.choice(["a", "b", "c"])
        aliases = (f"CVE-{rng.randint(0, 60)}",) if rng.random() < 0.5 else ()
        records.append(
            osv.Advisory(
                id=f"X-{n}",
                modified=datetime(2026, 1, 1, tzinfo=UTC),
                published=None,
                withdrawn=None,
                aliases=aliases,
                summary="",
                details="",
                severity=(),
                affected=(osv.Affected(eco, name, None, aff.versions, aff.ranges),),
            )
        )
    index = AdvisoryIndex(records)
    index.compile_all()
    components = [
        Component(eco, name, version, "lock")
        for eco in sorted(VERSIONS)
        for name in ("a", "b", "c", "zzz")
        for version in [*VERSIONS[eco], "0", "99.0.0"]
    ]
    for _ in range(2):  # the second pass reads the cached slot answers
        got = {(f.component, f.advisory_id, f.aliases) for f in index.scan(components)}
        hit: dict[tuple[Component, str], list[osv.Advisory]] = {}
        for c in components:
            for adv in records:
                aff = adv.affected[0]
                if aff.name == c.name and aff.ecosystem == c.ecosystem and osv.affects(aff, c.version):
                    hit.setdefault((c, index._groups[adv.id]), []).append(adv)
        want = set()
        for (c, _), advs in hit.items():
            ids = {a.id for a in advs}
            main = min(ids, key=lambda i: (6, i))  # no preferred prefixes here: the smallest id names the group
            aliases = tuple(sorted((ids | {x for a in advs for x in a.aliases}) - {main}))
            want.add((c, main, aliases))
        assert got == want
        assert len(want) > 500
