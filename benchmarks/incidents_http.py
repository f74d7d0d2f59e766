"""Alert intake over HTTP under load from a second process: sustained payloads/s with dedup, and the p99
time from webhook accept (the 202) to the first notification sent.

Three processes: this one (set-up and measurement), a real uvicorn server running Mamori with its job
worker thread (notifications go to a recording notifier that appends to a file), and a load process
posting Alertmanager webhook v4 payloads from several threads for a fixed time. Nine payloads in ten
repeat a firing alert (dedup); every tenth opens a new alert group, which pages one user.

Run: .venv/bin/python -m benchmarks.incidents_http [--seconds 20] [--threads 4] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

CONFIG = """\
apiVersion: mamori.dev/v1
kind: User
metadata: {name: oncall}
spec: {email: oncall@example.com, name: On Call, contacts: [{type: email, address: oncall@example.com}]}
---
apiVersion: mamori.dev/v1
kind: EscalationPolicy
metadata: {name: p}
spec: {steps: [{notify: {users: [oncall@example.com]}, escalateAfter: 1h}]}
---
apiVersion: mamori.dev/v1
kind: AlertRoute
metadata: {name: r}
spec: {groupBy: [alertname, service], default: {severity: SEV2, escalationPolicy: p}}
---
apiVersion: mamori.dev/v1
kind: Integration
metadata: {name: am}
spec: {type: alertmanager, route: r}
"""
SECRET = "bench-secret-key-0123456789"


def _settings(database_url: str, data_dir: Path) -> object:
    from mamori.core.config import load_settings

    return load_settings(
        env={},
        data_dir=data_dir,
        database_url=database_url,
        secret_key=SECRET,
        job_poll_seconds=0.02,
        job_lease_seconds=60,
    )


# ---------------------------------------------------------------- server process


def serve(database_url: str, data_dir: str, port: int, sends: str) -> None:
    import uvicorn

    from mamori.core.config import Settings
    from mamori.integrations.notify import Message, Notifiers
    from mamori.web.app import create_app
    from mamori.wiring import build_runtime

    lock = threading.Lock()

    class FileNotifier:
        def send(self, message: Message, target: str) -> str:
            with lock, open(sends, "a", encoding="utf-8") as out:
                out.write(json.dumps({"title": message.title, "at": time.time()}) + "\n")
            return "file"

    settings = _settings(database_url, Path(data_dir))
    assert isinstance(settings, Settings)
    runtime = build_runtime(settings)
    runtime.states.put(Notifiers({"email": FileNotifier()}))
    uvicorn.run(create_app(runtime, run_worker=True), host="127.0.0.1", port=port, log_level="warning")


# ---------------------------------------------------------------- load process


def load(port: int, token: str, seconds: float, threads: int, out: str) -> None:
    url = f"http://127.0.0.1:{port}/hooks/alertmanager/am"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    results: list[dict[str, object]] = []
    deadline = time.time() + seconds

    def run(thread: int) -> None:
        sent, accept_ms, first_accept = 0, list[float](), dict[str, float]()
        with httpx.Client(timeout=30) as client:
            while time.time() < deadline:
                name = f"T{thread}Alert{sent // 10}"
                body = {
                    "version": "4",
                    "status": "firing",
                    "receiver": "mamori",
                    "alerts": [
                        {
                            "status": "firing",
                            "labels": {"alertname": name, "service": "jobs-api"},
                            "annotations": {"summary": name},
                            "startsAt": "2026-11-28T12:00:00Z",
                        }
                    ],
                }
                t0 = time.time()
                response = client.post(url, content=json.dumps(body), headers=headers)
                t1 = time.time()
                if response.status_code != 202:
                    raise SystemExit(f"HTTP {response.status_code}: {response.text[:200]}")
                accept_ms.append((t1 - t0) * 1000)
                first_accept.setdefault(name, t1)
                sent += 1
        results.append({"sent": sent, "accept_ms": accept_ms, "first_accept": first_accept})

    started = time.time()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.time() - started
    merged = {
        "elapsed": elapsed,
        "sent": sum(int(str(r["sent"])) for r in results),
        "accept_ms": [x for r in results for x in r["accept_ms"]],  # type: ignore[attr-defined]
        "first_accept": {k: v for r in results for k, v in r["first_accept"].items()},  # type: ignore[attr-defined]
    }
    Path(out).write_text(json.dumps(merged))


# ---------------------------------------------------------------- orchestration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from mamori.core import auth, manifest, migrate
    from mamori.core.audit import Actor
    from mamori.core.config import Settings
    from mamori.incidents.models import AlertGroup, Intake
    from mamori.wiring import build_runtime, start

    tmp = Path(tempfile.mkdtemp(prefix="mamori-bench-"))
    database_url = args.database_url or f"sqlite:///{tmp / 'mamori.db'}"
    settings = _settings(database_url, tmp)
    assert isinstance(settings, Settings)
    runtime = build_runtime(settings)
    migrate.upgrade(runtime.engine)
    start(runtime)
    (tmp / "c.yaml").write_text(CONFIG)
    manifest.apply(runtime, manifest.load(tmp / "c.yaml", runtime.kinds), actor=Actor("bench", "config"))
    with runtime.sessions.begin() as s:
        user = auth.create_user(
            s, email="ingest@example.com", name="ingest", role="admin", now=runtime.now(), actor=Actor.system("bench")
        )
        token = auth.create_token(
            s, user=user, scopes=["ingest"], now=runtime.now(), actor=Actor.system("bench")
        ).secret

    port, sends, out = _free_port(), tmp / "sends.jsonl", tmp / "load.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.incidents_http", "serve", database_url, str(tmp), str(port), str(sends)],
        env=env,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        client = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.incidents_http",
                "load",
                str(port),
                token,
                str(args.seconds),
                str(args.threads),
                str(out),
            ],
            env=env,
        )
        if client.wait(timeout=args.seconds + 60) != 0:
            raise SystemExit("the load process failed")
        result = json.loads(out.read_text())
        groups = len(result["first_accept"])
        drain_start = time.time()
        while time.time() - drain_start < 120:
            with runtime.sessions() as s:
                pending = s.scalar(select(func.count()).select_from(Intake).where(Intake.status == "accepted"))
            sent_titles = (
                {json.loads(line)["title"] for line in sends.read_text().splitlines()} if sends.exists() else set()
            )
            if not pending and len(sent_titles) >= groups:
                break
            time.sleep(0.2)
        drained = time.time()
    finally:
        server.terminate()
        server.wait(timeout=30)

    first_sent: dict[str, float] = {}
    for line in sends.read_text().splitlines():
        item = json.loads(line)
        first_sent.setdefault(item["title"], item["at"])
    latencies = [(first_sent[k] - v) * 1000 for k, v in result["first_accept"].items() if k in first_sent]
    with runtime.sessions() as s:
        processed = s.scalar(select(func.count()).select_from(Intake).where(Intake.status == "processed"))
        group_count = s.scalar(select(func.count()).select_from(AlertGroup))
        first = s.scalar(select(func.min(Intake.received_at)))
        last = s.scalar(select(func.max(Intake.processed_at)))
    process_seconds = (last - first).total_seconds() if first and last else float("nan")
    backend = runtime.engine.dialect.name
    runtime.engine.dispose()
    print(f"backend: {backend}; load: {args.threads} threads for {args.seconds:.0f}s from a second process")
    print(f"payloads accepted: {result['sent']} ({result['sent'] / result['elapsed']:.0f}/s over HTTP)")
    print(
        f"accept latency (202): p50 {_pct(result['accept_ms'], 0.5):.1f} ms, "
        f"p99 {_pct(result['accept_ms'], 0.99):.1f} ms"
    )
    print(
        f"processed: {processed} payloads into {group_count} groups in {process_seconds:.1f}s "
        f"({(processed or 0) / process_seconds:.0f}/s sustained incl. dedup); "
        f"drained {drained - drain_start:.1f}s after load"
    )
    print(
        f"accept -> first notification ({len(latencies)}/{groups} groups): p50 {statistics.median(latencies):.0f} ms, "
        f"p99 {_pct(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif len(sys.argv) > 1 and sys.argv[1] == "load":
        load(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        main()
