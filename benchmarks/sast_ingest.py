"""Ingesting and matching a 50,000-result SARIF against a previous scan of the same size, 5 % of it moved.

Writes two SARIF logs (every result with a snippet and GitHub's `primaryLocationLineHash`, as a CodeQL or
Semgrep upload has them): the previous scan, and the current one where 5 % of the results moved to another
line of their file (same code, same line hash), 1 % are new and 1 % are gone. Measures, each the best of
ROUNDS:
- `json.loads` of the current file alone (the issue's yardstick), with the cyclic collector paused as the
  pipeline runs (the stricter figure: a plain call also pays for collections walking the benchmark's own heap)
  and as a plain call;
- parse: decoding and reading the SARIF into results (`intake.parse_report`);
- match: identities and the matcher against the previous scan (pure, in memory), with the cyclic garbage
  collector paused as `store_scan` pauses it around the same work (`mamori.sast.gcpause`);
- store: the whole upload into SQLite, one transaction: the previous scan first (50,000 new findings), then
  the rescan (the figure compared with json.loads);
and the peak RSS. The goal: ingest and match under 3x the json.loads time.

Run: .venv/bin/python -m benchmarks.sast_ingest [RESULTS] [ROUNDS] [--write]
"""

from __future__ import annotations

import gc
import json
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mamori.core import migrate
from mamori.core.db import make_engine, make_sessionmaker
from mamori.core.events import EventBus
from mamori.sast import gcpause, identity
from mamori.sast.matcher import Known, match
from mamori.sast.service import intake
from mamori.sast.service.scans import Upload

RESULTS = Path(__file__).parent / "results_sast.md"
RULES = [(f"R{n:03d}", f"CWE-{cwe}") for n, cwe in enumerate((78, 79, 89, 22, 502, 611, 327, 330, 601, 94) * 2)]


def _result(rng: random.Random, i: int, files: int, line: int | None = None) -> dict[str, Any]:
    rule, _ = RULES[i % len(RULES)]
    path = f"src/module{i % files:04d}/file{(i // files) % 7}.py"
    start = line if line is not None else 10 + (i * 7) % 900
    code = f"call_{i}(request.args['q{i % 13}'])"
    return {
        "ruleId": rule,
        "level": ("error", "warning", "note")[i % 3],
        "message": {"text": f"{rule}: tainted value reaches a sink in {code[:20]}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": start, "startColumn": 5, "snippet": {"text": f"    {code}\n"}},
                }
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": f"{rng.getrandbits(64):x}:1"},
    }


def _log(results: list[dict[str, Any]]) -> dict[str, Any]:
    rules = [
        {"id": rule, "properties": {"tags": ["security", f"external/cwe/{cwe.lower()}"], "security-severity": "7.5"}}
        for rule, cwe in RULES
    ]
    return {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "BenchScanner", "rules": rules}}, "results": results}],
    }


def make_logs(n: int) -> tuple[bytes, bytes]:
    rng = random.Random(14)
    files = max(1, n // 25)
    previous = [_result(rng, i, files) for i in range(n)]
    current = json.loads(json.dumps(previous))
    moved = rng.sample(range(n), n // 20)
    for i in moved:
        region = current[i]["locations"][0]["physicalLocation"]["region"]
        region["startLine"] += rng.randint(1, 40)  # lines inserted above: same code, same line hash
    gone = set(rng.sample(sorted(set(range(n)) - set(moved)), n // 100))
    current = [r for i, r in enumerate(current) if i not in gone]
    current += [_result(rng, n + i, files) for i in range(n // 100)]
    return json.dumps(_log(previous)).encode(), json.dumps(_log(current)).encode()


def _known_from(previous: bytes) -> list[Known]:
    (run,) = intake.parse_report(previous)
    for r in run.results:
        r.tool = "benchscanner"
    identity.assign_line_hashes(run.results, None)
    out = []
    for i, r in enumerate(run.results):
        c = identity.candidate(r)
        out.append(Known(id=str(i), rule=c.rule, path=c.path, line=c.line, message=c.message, line_hash=c.line_hash,
                         text_hash=c.text_hash, fingerprints=c.fingerprints))  # fmt: skip
    return out


def _parse_and_match(current: bytes, known: list[Known]) -> dict[str, int]:
    with gcpause.paused():
        (run,) = intake.parse_report(current)
        for r in run.results:
            r.tool = "benchscanner"
        identity.assign_line_hashes(run.results, None)
        return match([identity.candidate(r) for r in run.results], known).counts()


def _store(previous: bytes, current: bytes) -> tuple[float, float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        bus, now = EventBus(), datetime(2026, 12, 7, tzinfo=UTC)
        start = time.perf_counter()
        with sessions.begin() as session:
            intake.upload(session, payload=previous, upload=Upload(repo="acme/big", commit="c1"), now=now, bus=bus)
        first = time.perf_counter() - start
        gc.collect()
        start = time.perf_counter()
        with sessions.begin() as session:
            (scan,) = intake.upload(
                session, payload=current, upload=Upload(repo="acme/big", commit="c2"), now=now, bus=bus
            )
            counts = dict(scan.counts)
        elapsed = time.perf_counter() - start
        engine.dispose()
    return first, elapsed, counts


def _timed(fn: Any) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _interleaved(rounds: int, current: bytes, known: list[Known]) -> dict[str, Any]:
    """Each round times json.loads, parse, and parse + match back to back, so that each ratio compares
    figures taken within seconds of each other on a machine whose load changes from minute to minute."""
    loads, parse, both, ratios = [], [], [], []
    counts: dict[str, int] = {}
    for _ in range(rounds):
        with gcpause.paused():  # the yardstick under the same conditions as the pipeline: the stricter one
            loads.append(_timed(lambda: json.loads(current))[0])
        parse.append(_timed(lambda: intake.parse_report(current))[0])
        elapsed, counts = _timed(lambda: _parse_and_match(current, known))
        both.append(elapsed)
        ratios.append((parse[-1] / loads[-1], both[-1] / loads[-1]))
    return {
        "loads": min(loads), "parse": min(parse), "both": min(both), "ratios": ratios,
        "counts": counts,
    }  # fmt: skip


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 50_000
    rounds = int(args[1]) if len(args) > 1 else 3
    previous, current = make_logs(n)
    plain = min(_timed(lambda: json.loads(current))[0] for _ in range(rounds))  # before the benchmark's own heap
    known = _known_from(previous)
    mem = _interleaved(rounds, current, known)
    loads = mem["loads"]
    first, stored, stored_counts = _store(previous, current)
    with gcpause.paused():
        loads_after = _timed(lambda: json.loads(current))[0]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_round = ", ".join(f"{p:.2f}x/{b:.2f}x" for p, b in mem["ratios"])
    lines = [
        f"results {n:,} ({len(current) / 1e6:.1f} MB); matcher counts {mem['counts']}; stored counts {stored_counts}",
        f"json.loads {loads * 1000:.0f} ms with the collector paused ({plain * 1000:.0f} ms as a plain call) | "
        f"parse {mem['parse'] * 1000:.0f} ms ({mem['parse'] / loads:.2f}x) | "
        f"parse + identities + match {mem['both'] * 1000:.0f} ms ({mem['both'] / loads:.2f}x, goal < 3x) | "
        f"per round (parse/match vs that round's json.loads): {per_round} | "
        f"against the plain json.loads: parse + match {mem['both'] / plain:.2f}x",
        f"rescan stored in SQLite {stored:.1f} s ({stored / loads:.1f}x the best json.loads, "
        f"{stored / loads_after:.1f}x the json.loads right after) | first scan stored (all new) {first:.1f} s "
        f"({first / loads:.1f}x) | against the plain json.loads: rescan {stored / plain:.1f}x, "
        f"first {first / plain:.1f}x | peak RSS {rss:.0f} MB",
    ]
    print("\n".join(lines))
    if "--write" in sys.argv:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        with RESULTS.open("a") as out:
            out.write(f"\n### run of {stamp}\n\n" + "\n".join(f"- {line}" for line in lines) + "\n")


if __name__ == "__main__":
    main()
