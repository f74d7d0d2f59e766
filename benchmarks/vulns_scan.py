"""Scanning a large inventory against a large advisory set: index build, lockfile parsing, scan, memory.

Generates lockfiles with >= 5,000 packages across six ecosystems and >= 50,000 OSV records (ranges with
introduced/fixed/last_affected, explicit versions[] lists), all written by this script. Measures:
parsing the OSV JSON into records, building the index, parsing the lockfiles, and the scan itself.
The issue's goal: once the index is built, scanning costs no more than twice the lockfile parsing.

Run: .venv/bin/python -m benchmarks.vulns_scan [PACKAGES] [ADVISORIES] [BUILDS] [--write]
"""

from __future__ import annotations

import gc
import json
import os
import random
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from mamori.vulns import lockfiles, osv, scanning
from mamori.vulns.bulk import collector_paused
from mamori.vulns.matcher import AdvisoryIndex

RESULTS = Path(__file__).parent / "results_vulns.md"
ECOSYSTEMS = ("npm", "PyPI", "RubyGems", "crates.io", "Go", "Packagist")


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 30)}"


def _name(eco: str, i: int) -> str:
    return {
        "npm": f"pkg-{i}",
        "PyPI": f"py-pkg-{i}",
        "RubyGems": f"gem{i}",
        "crates.io": f"crate_{i}",
        "Go": f"github.com/org{i % 97}/mod{i}",
        "Packagist": f"vendor{i % 89}/lib{i}",
    }[eco]


def inventory(n: int, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    per = n // len(ECOSYSTEMS) + 1
    return {eco: [(_name(eco, i), _version(rng)) for i in range(per)] for eco in ECOSYSTEMS}


def write_lockfiles(root: Path, inv: dict[str, list[tuple[str, str]]]) -> None:
    packages: dict[str, Any] = {"": {"name": "bench", "version": "1.0.0"}}
    packages.update({f"node_modules/{n}": {"version": v} for n, v in inv["npm"]})
    (root / "package-lock.json").write_text(json.dumps({"lockfileVersion": 3, "packages": packages}))
    (root / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in inv["PyPI"]))
    specs = "".join(f"    {n} ({v})\n" for n, v in inv["RubyGems"])
    (root / "Gemfile.lock").write_text(f"GEM\n  remote: https://rubygems.org/\n  specs:\n{specs}\nPLATFORMS\n  ruby\n")
    cargo = "".join(f'[[package]]\nname = "{n}"\nversion = "{v}"\n\n' for n, v in inv["crates.io"])
    (root / "Cargo.lock").write_text("version = 3\n\n" + cargo)
    requires = "".join(f"\t{n} v{v}\n" for n, v in inv["Go"])
    (root / "go.mod").write_text(f"module example.com/bench\n\ngo 1.22\n\nrequire (\n{requires})\n")
    composer = {"packages": [{"name": n, "version": v} for n, v in inv["Packagist"]], "packages-dev": []}
    (root / "composer.lock").write_text(json.dumps(composer))


def _vector(rng: random.Random) -> str:
    """One of ~5,000 distinct CVSS v3.1 vectors, so that per-vector caching does not flatter the scan."""
    pick = rng.choice
    return (
        f"CVSS:3.1/AV:{pick('NALP')}/AC:{pick('LH')}/PR:{pick('NLH')}/UI:{pick('NR')}/S:{pick('UC')}"
        f"/C:{pick('NLH')}/I:{pick('NLH')}/A:{pick('NLH')}"
    )


def advisories(n: int, inv: dict[str, list[tuple[str, str]]], rng: random.Random) -> list[dict[str, Any]]:
    """Half the records name an inventory package (several per package), the rest other packages."""
    out = []
    for i in range(n):
        eco = ECOSYSTEMS[i % len(ECOSYSTEMS)]
        # both kinds in every ecosystem: alternate on i // 6, since i alone would tie the kind to the ecosystem
        name = rng.choice(inv[eco])[0] if (i // len(ECOSYSTEMS)) % 2 == 0 else _name(eco, 100_000 + i)
        kind = i % 5
        affected: dict[str, Any] = {"package": {"ecosystem": eco, "name": name}}
        if kind == 4:
            affected["versions"] = [_version(rng) for _ in range(8)]
        else:
            lo, hi = sorted([_version(rng), _version(rng)], key=lambda v: tuple(map(int, v.split("."))))
            end = "last_affected" if kind == 3 else "fixed"
            affected["ranges"] = [
                {
                    "type": "SEMVER" if eco in ("npm", "Go", "crates.io") else "ECOSYSTEM",
                    "events": [{"introduced": lo if kind else "0"}, {end: hi}],
                }
            ]
        out.append(
            {
                "id": f"BENCH-{i:06d}",
                "modified": "2026-01-01T00:00:00Z",
                "aliases": [f"CVE-2026-{i:06d}"],
                "summary": "generated",
                "severity": [{"type": "CVSS_V3", "score": _vector(rng)}],
                "affected": [affected],
            }
        )
    return out


def _parse(raw: list[dict[str, Any]]) -> list[osv.Advisory]:
    with collector_paused():  # as sources.load does
        return [osv.parse_record(r, source=r["id"]) for r in raw]


def _build(records: list[osv.Advisory]) -> AdvisoryIndex:
    index = AdvisoryIndex(records)
    index.compile_all()  # a long-lived index prepares every version check once
    return index


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def _spread(values: list[float], fmt: str = "{:.3f}") -> str:
    ordered = sorted(values)
    return f"{fmt.format(ordered[len(ordered) // 2])} ({fmt.format(ordered[0])} to {fmt.format(ordered[-1])})"


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_zip(path: Path, raw: list[dict[str, Any]]) -> None:
    """Records as OSV's per-ecosystem exports ship them: one JSON file per record in a zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for r in raw:
            archive.writestr(f"{r['id']}.json", json.dumps(r))


def main() -> None:
    n_packages = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
    n_advisories = int(sys.argv[2]) if len(sys.argv) > 2 else 60000
    builds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    rng = random.Random(42)
    inv = inventory(n_packages, rng)
    raw = advisories(n_advisories, inv, rng)
    rss_start = _rss_mb()
    osv_times, index_times, first_scans, parse_times, scan_times, ratios = [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        write_lockfiles(root, inv)
        found = lockfiles.discover(root)
        assert not found.errors, found.errors
        # lockfile parsing in a process holding nothing else (the rounds below parse with the index in memory)
        alone = [_timed(lambda: lockfiles.discover(root))[1] for _ in range(5)]
        load_start = os.getloadavg()[0]
        index: AdvisoryIndex | None = None
        for _ in range(builds):
            index = None
            gc.unfreeze()
            gc.collect()
            records, osv_s = _timed(lambda: _parse(raw))
            index, index_s = _timed(lambda records=records: _build(records))
            del records
            osv_times.append(osv_s)
            index_times.append(index_s)
            # the index is long-lived: keep the collector from rescanning its objects during each scan
            gc.collect()
            gc.freeze()
            findings, first_s = _timed(lambda: index.scan(found.components))  # noqa: B023
            first_scans.append(first_s)
            # interleaved, so that load from other processes hits both sides of the ratio alike
            for _ in range(5):
                parse_s = _timed(lambda: lockfiles.discover(root))[1]
                scan_s = _timed(lambda: index.scan(found.components))[1]  # noqa: B023
                parse_times.append(parse_s)
                scan_times.append(scan_s)
                ratios.append(scan_s / parse_s)
        rss_index = _rss_mb()
        assert index is not None
        # the one-shot CLI path: OSV zip export + lockfiles -> findings, all cold (`mamori vulns scan --advisories`)
        index = None
        gc.unfreeze()
        gc.collect()
        archive = Path(tmp) / "all.zip"
        write_zip(archive, raw)
        report, oneshot_s = _timed(lambda: scanning.scan(root, advisories=archive))
        assert len(report.findings) == len(findings), (len(report.findings), len(findings))
    best = min(scan_times) / min(parse_times)
    load_end = os.getloadavg()[0]
    lines = [
        "# vulns: scan benchmark",
        "",
        f"Generated by `python -m benchmarks.vulns_scan {n_packages} {n_advisories} {builds}` on 2 cores shared",
        f"with other processes (1-minute load {load_start:.1f} at the start, {load_end:.1f} at the end), so timings",
        "move by up to 2x between runs.",
        f"Values: median (min to max) over {builds} index builds and {len(scan_times)} interleaved parse/scan rounds.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| packages in lockfiles (6 ecosystems, 6 files) | {len(found.components):,} |",
        f"| OSV records (half name an inventory package, in every ecosystem) | {n_advisories:,} |",
        f"| findings | {len(findings):,} |",
        f"| parse OSV JSON into records | {_spread(osv_times, '{:.2f}')} s |",
        f"| build the index (tables + merged slot answers) | {_spread(index_times, '{:.2f}')} s |",
        f"| parse the lockfiles, before any record is loaded | {_spread(alone)} s |",
        f"| parse the lockfiles, in the rounds (index in memory) | {_spread(parse_times)} s |",
        f"| scan, first after a build (names, unseen version keys cold) | {_spread(first_scans)} s |",
        f"| scan, warm | {_spread(scan_times)} s |",
        f"| **warm scan / lockfile parsing, per round (goal <= 2)** | **{_spread(ratios, '{:.2f}')}** |",
        f"| first scan after build / parse (medians) | {_median(first_scans) / _median(parse_times):.2f} |",
        f"| best warm scan / best lockfile parse in the rounds | {best:.2f} |",
        f"| best warm scan / best lockfile parse before records (stricter) | {min(scan_times) / min(alone):.2f} |",
        f"| (parse + warm scan) / parse, per round | {_spread([1 + r for r in ratios], '{:.2f}')} |",
        f"| one-shot `scanning.scan` (zip export + lockfiles, everything cold) | {oneshot_s:.2f} s |",
        f"| process peak RSS before records / after {builds} builds / at the end | "
        f"{rss_start:.0f} / {rss_index:.0f} / {_rss_mb():.0f} MB |",
        "",
    ]
    text = "\n".join(lines)
    sys.stdout.write(text + "\n")
    if "--write" in sys.argv:
        RESULTS.write_text(text + NOTES)


NOTES = """
How: each (ecosystem, normalised name) gets an interval table (`mamori.vulns.intervals`): every range
event is a breakpoint in the ecosystem's version order, pre-parsed to a sort key once (Packagist now has
a real key too, instead of a comparison function called during every bisection); each slot (a breakpoint
or the gap between two) holds the affected entries. `compile_all` (what a long-lived index runs) also
merges each slot's records into ready answers (alias groups, severity, fixed versions), shared by slots
with the same hits; the one-shot CLI builds only the tables its lockfiles ask for. A lockfile's
(ecosystem, name as written) resolves to its table once. A component then costs one dict lookup, one
cached version key, one bisection, and one two-field object per finding. Record parsing and index
building pause the cyclic garbage collector (`mamori.vulns.bulk`): the burst allocates millions of objects
that all survive, and full collections during it were about half of the build time.

The ratio compares the scan (matching only) with parsing the same lockfiles; `(parse + warm scan) /
parse` is the stricter reading where "scanning" includes the parse. Earlier versions of this benchmark
generated inventory-matching advisories for three of the six ecosystems only (and one CVSS vector for
all records); both are fixed, so numbers are not comparable with the previous table (warm 0.143 s,
ratio 3.43, index build 16.4 s with tracemalloc on).
"""


if __name__ == "__main__":
    main()
