"""OFREP throughput and latency: Mamori served by uvicorn in one process, load from this (second) process.

Run: .venv/bin/python -m benchmarks.flags_ofrep [REQUESTS] [CONCURRENCY]
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

SERVER = """
import sys, uvicorn
from mamori.core import auth, manifest, migrate
from mamori.core.audit import Actor
from mamori.core.config import load_settings
from mamori.web.app import create_app
from mamori.wiring import build_runtime, start
data, port, config, keyfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
settings = load_settings(env={}, data_dir=data, database_url=f"sqlite:///{data}/m.db",
                         secret_key="bench-secret-0123456789")
runtime = build_runtime(settings)
migrate.upgrade(runtime.engine)
start(runtime)
from pathlib import Path
manifest.apply(runtime, manifest.load(Path(config), runtime.kinds), actor=Actor(name="bench", source="config"))
with runtime.sessions.begin() as s:
    key = auth.create_token(s, user=None, scopes=["flags:evaluate"], environment="production", now=runtime.now(),
                            actor=Actor.system("bench")).secret
Path(keyfile).write_text(key)
uvicorn.run(create_app(runtime), host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _load(
    url: str, body: dict[str, object], headers: dict[str, str], n: int, workers: int
) -> tuple[float, list[float]]:
    latencies: list[float] = []

    def worker(count: int) -> None:
        with httpx.Client(headers=headers, timeout=10) as client:
            for i in range(count):
                start = time.perf_counter()
                ctx = {"context": {**body["context"], "targetingKey": f"user-{i}"}}  # type: ignore[dict-item]
                client.post(url, json=ctx).raise_for_status()
                latencies.append(time.perf_counter() - start)

    begin = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, [n // workers] * workers))
    return time.perf_counter() - begin, latencies


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        demo = Path(__file__).resolve().parent.parent / "src" / "mamori" / "flags" / "demo"
        for name in ("flags.yaml", "jobs-web.flagd.json"):
            (root / "config" / name).write_text((demo / name).read_text(encoding="utf-8"), encoding="utf-8")
        port, keyfile = _free_port(), root / "key"
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, tmp, str(port), str(root / "config"), str(keyfile)],
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        try:
            deadline = time.monotonic() + 60
            while not keyfile.exists() or not _up(port):
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.2)
            headers = {"X-API-Key": keyfile.read_text()}
            base = f"http://127.0.0.1:{port}/ofrep/v1/evaluate/flags"
            print("| request | requests | concurrency | requests/s | p50 ms | p99 ms |")
            print("|---|---:|---:|---:|---:|---:|")
            for label, url in (("single (salary-filter)", f"{base}/salary-filter"), ("bulk (6 flags)", base)):
                _load(url, {"context": {"email": "a@jobs.example"}}, headers, 100, 2)  # warm-up
                elapsed, lat = _load(url, {"context": {"email": "a@jobs.example"}}, headers, n, workers)
                lat.sort()
                p99 = lat[int(len(lat) * 0.99) - 1]
                print(
                    f"| {label} | {len(lat)} | {workers} | {len(lat) / elapsed:,.0f} | "
                    f"{statistics.median(lat) * 1000:.1f} | {p99 * 1000:.1f} |"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
