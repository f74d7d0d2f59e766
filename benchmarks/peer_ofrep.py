"""OFREP side by side: Mamori against the Unleash proxy (Node) and a bare Starlette app, same client.

All three serve the same six flags (the demo's jobs-web set; Unleash gets the equivalent toggles: an
e-mail suffix constraint, a semver constraint, a 50/50 variant split, two plain ones and a disabled one)
and are driven by one load generator (autocannon, from `benchmarks/node/load.js`) with a new targeting
key on every request, at 1, 4 and 16 connections, then at a fixed 1,000 requests/s. Each figure is
the median of `--rounds` rounds, and every round runs all targets one after another, so a burst of
load from other processes on a shared machine hits every target alike instead of one.
The bare Starlette app, on the same uvicorn settings as Mamori, returns Mamori's own bulk answer
bytes: the ceiling of the framework and server, with no work behind it.

Run: .venv/bin/python -m benchmarks.peer_ofrep [--seconds 5] [--rounds 3] [--connections 1,4,16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from benchmarks import _peers
from benchmarks.flags_ofrep import SERVER as MAMORI_SERVER

UNLEASH_KEY = "bench-client-key"
STARLETTE = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
body = open(sys.argv[2], "rb").read()
async def answer(request):
    await request.body()
    return Response(body, media_type="application/json")
app = Starlette(routes=[Route("/ofrep/v1/evaluate/flags", answer, methods=["POST"]),
                        Route("/healthz", answer, methods=["GET"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _toggles() -> dict[str, object]:
    """The demo flags as Unleash toggles (client features format, as the proxy's bootstrap takes it)."""

    def toggle(name: str, enabled: bool = True, **extra: object) -> dict[str, object]:
        strategies = extra.pop("strategies", [{"name": "default", "parameters": {}}])
        return {"name": name, "enabled": enabled, "type": "release", "strategies": strategies, **extra}

    constraint = {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@jobs.example"]}
    semver = {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "3.2.0"}
    split = [
        {"name": "blue", "weight": 500, "stickiness": "default", "payload": {"type": "string", "value": "#1d4ed8"}},
        {"name": "green", "weight": 500, "stickiness": "default", "payload": {"type": "string", "value": "#15803d"}},
    ]
    return {
        "version": 2,
        "features": [
            toggle("new-search", False),
            toggle("salary-filter", strategies=[{"name": "default", "parameters": {}, "constraints": [constraint]}]),
            toggle("apply-button-color", variants=split),
            toggle(
                "results-per-page",
                variants=[{"name": "twenty", "weight": 1000, "payload": {"type": "number", "value": "20"}}],
            ),
            toggle("mobile-app-banner", strategies=[{"name": "default", "parameters": {}, "constraints": [semver]}]),
            toggle("legacy-matching", False),
        ],
    }


def _spec(
    target: dict[str, Any], body: str, connections: int, seconds: float, rate: int | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"method": "POST", "body": body, "vary": "VARY", "connections": connections}
    spec["seconds"] = seconds
    spec["headers"] = {"content-type": "application/json", **target.get("headers", {})}
    spec.update({k: v for k, v in target.items() if k != "headers"})
    if rate:
        spec["rate"] = rate
    return spec


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per figure, the median over the rounds (errors: the sum)."""
    out = {name: float(statistics.median(run[name] for run in runs)) for name in ("per_second", "p50_ms", "p99_ms")}
    out.update({name: float(sum(run[name] for run in runs)) for name in ("non_2xx", "errors")})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", default="1,4,16")
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    modules = _peers.node_modules()
    context = {"targetingKey": "user-VARY", "email": "a@jobs.example", "appVersion": "3.4.1"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        demo = Path(__file__).resolve().parent.parent / "src" / "mamori" / "flags" / "demo"
        for name in ("flags.yaml", "jobs-web.flagd.json"):
            (root / "config" / name).write_text((demo / name).read_text(encoding="utf-8"), encoding="utf-8")
        (root / "toggles.json").write_text(json.dumps(_toggles()))
        ports = {name: _peers.free_port() for name in ("mamori", "unleash", "starlette")}
        keyfile = root / "key"
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        mamori = subprocess.Popen(
            [sys.executable, "-c", MAMORI_SERVER, tmp, str(ports["mamori"]), str(root / "config"), str(keyfile)],
            env=env,
        )
        unleash = subprocess.Popen(
            [
                "node",
                str(_peers.HERE / "node" / "unleash_proxy.js"),
                str(ports["unleash"]),
                UNLEASH_KEY,
                str(root / "toggles.json"),
            ],
            env={"NODE_PATH": str(modules), "PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs = [mamori, unleash]
        try:
            _peers.wait_until(
                lambda: keyfile.exists() and _peers.answers(f"http://127.0.0.1:{ports['mamori']}/healthz"),
                what="Mamori",
            )
            key = keyfile.read_text()
            bulk_url = f"http://127.0.0.1:{ports['mamori']}/ofrep/v1/evaluate/flags"
            answer = httpx.post(
                bulk_url, json={"context": {**context, "targetingKey": "user-1"}}, headers={"X-API-Key": key}
            )
            answer.raise_for_status()
            (root / "answer.json").write_bytes(answer.content)
            starlette = subprocess.Popen(
                [sys.executable, "-c", STARLETTE, str(ports["starlette"]), str(root / "answer.json")], env=env
            )
            procs.append(starlette)
            _peers.wait_until(
                lambda: _peers.answers(f"http://127.0.0.1:{ports['starlette']}/healthz"), what="Starlette"
            )
            unleash_url = f"http://127.0.0.1:{ports['unleash']}/proxy"
            _peers.wait_until(
                lambda: _peers.answers(unleash_url, headers={"Authorization": UNLEASH_KEY}), what="Unleash proxy"
            )
            body = json.dumps({"context": context})
            targets: dict[str, dict[str, Any]] = {
                "Mamori OFREP single": {"url": f"{bulk_url}/salary-filter", "headers": {"X-API-Key": key}},
                "Mamori OFREP bulk": {"url": bulk_url, "headers": {"X-API-Key": key}},
                "Unleash proxy (all toggles)": {
                    "url": unleash_url,
                    "headers": {"Authorization": UNLEASH_KEY},
                    "body": json.dumps(
                        {
                            "context": {
                                "userId": "user-VARY",
                                "properties": {"email": "a@jobs.example", "appVersion": "3.4.1"},
                            }
                        }
                    ),
                },
                "bare Starlette (same bytes)": {
                    "url": f"http://127.0.0.1:{ports['starlette']}/ofrep/v1/evaluate/flags"
                },
            }
            rows = []
            for target in targets.values():  # warm-up
                _peers.load({**_spec(target, body, 4, args.seconds), "seconds": 1})
            for connections in [int(c) for c in args.connections.split(",")]:
                rounds: dict[str, list[dict[str, float]]] = {label: [] for label in targets}
                for _ in range(args.rounds):
                    for label, target in targets.items():
                        rounds[label].append(_peers.load(_spec(target, body, connections, args.seconds)))
                results = {label: _median(runs) for label, runs in rounds.items()}
                unleash_rate = results["Unleash proxy (all toggles)"]["per_second"]
                ceiling = results["bare Starlette (same bytes)"]["per_second"]
                for label, r in results.items():
                    rows.append(
                        [
                            str(connections),
                            label,
                            f"{r['per_second']:,.0f}",
                            f"{r['p50_ms']:.1f}",
                            f"{r['p99_ms']:.1f}",
                            f"{r['per_second'] / unleash_rate:.2f}",
                            f"{ceiling / r['per_second']:.2f}",
                            str(int(r["non_2xx"] + r["errors"])),
                        ]
                    )
            print(
                _peers.table(
                    ["conns", "target", "req/s", "p50 ms", "p99 ms", "x Unleash", "ceiling / this", "errors"], rows
                )
            )
            fixed_labels = tuple(targets)  # bare Starlette too: the latency floor of this machine at that rate
            fixed_runs: dict[str, list[dict[str, float]]] = {label: [] for label in fixed_labels}
            for _ in range(args.rounds):
                for label in fixed_labels:
                    fixed_runs[label].append(_peers.load(_spec(targets[label], body, 16, args.seconds, rate=1000)))
            fixed = []
            for label in fixed_labels:
                r = _median(fixed_runs[label])
                p99s = ", ".join(f"{run['p99_ms']:.0f}" for run in fixed_runs[label])
                fixed.append([label, f"{r['per_second']:,.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}", p99s])
            print()
            print(_peers.table(["at 1,000 req/s, 16 connections", "req/s", "p50 ms", "p99 ms", "p99 per round"], fixed))
        finally:
            _peers.stop(*procs)


if __name__ == "__main__":
    main()
