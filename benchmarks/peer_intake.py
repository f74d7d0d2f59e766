"""Alert intake side by side: Mamori's Alertmanager webhook against Alertmanager's own `POST /api/v2/alerts`.

One load generator (autocannon, `benchmarks/node/load.js`) posts one new alert per request to each, at
1, 4 and 16 connections, for the same time, in the same run. Alertmanager is Debian's
`prometheus-alertmanager` with a null receiver; the ceiling is a bare Starlette app on the same uvicorn
settings that reads the body and answers 202 (what Python and uvicorn allow on this machine before any
work); Mamori is one server process (HTTP, its intake log and its job worker) on SQLite or PostgreSQL.
Mamori's backlog (payloads accepted, durable, but not yet processed) is measured when the load stops, with
the time until it is drained and every accepted alert has paged; paged/s is how many of the alerts were
processed all the way to their page while the load ran (each opens a group that pages one user).

Then accept -> first page: alerts at half the rate Mamori sustained at 16 connections (the lower of
accepted/s and paged/s), every alert a new group that pages one user through a webhook contact served
by this process (HTTP/1.1 keep-alive; the TCP connections the pages used are counted); each alert carries
its send time, so the page's arrival gives the whole path (HTTP accept, processing, escalation, delivery).

Run: .venv/bin/python -m benchmarks.peer_intake [--seconds 8] [--connections 1,4,16] [--database-url URL]
     [--page-seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks import _peers, incidents_http

EMAIL_CONTACT = "contacts: [{type: email, address: oncall@example.com}]"
assert EMAIL_CONTACT in incidents_http.CONFIG
CONFIG = incidents_http.CONFIG.replace(EMAIL_CONTACT, 'contacts: [{type: webhook, url: "SINK"}]')
"""The organisation of `incidents_http`, paging through a webhook contact served by this benchmark."""
SECRET = incidents_http.SECRET
SERVER = """
import sys, uvicorn
from pathlib import Path
from mamori.core import auth, manifest, migrate
from mamori.core.audit import Actor
from mamori.core.config import load_settings
from mamori.web.app import create_app
from mamori.wiring import build_runtime, start
data, url, port, config, tokenfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
settings = load_settings(env={}, data_dir=data, database_url=url, secret_key=sys.argv[6], job_poll_seconds=0.02,
                         allow_private_webhooks=True)
runtime = build_runtime(settings)
migrate.upgrade(runtime.engine)
start(runtime)
manifest.apply(runtime, manifest.load(Path(config), runtime.kinds), actor=Actor(name="bench", source="config"))
with runtime.sessions.begin() as s:
    user = auth.create_user(s, email="ingest@example.com", name="ingest", role="admin", now=runtime.now(),
                            actor=Actor.system("bench"))
    token = auth.create_token(s, user=user, scopes=["ingest"], now=runtime.now(), actor=Actor.system("bench")).secret
Path(tokenfile).write_text(token)
uvicorn.run(create_app(runtime, run_worker=True), host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""
BARE = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def accept(request):
    await request.body()
    return JSONResponse({"status": "accepted", "intake_id": 1, "alerts": 1}, status_code=202)
app = Starlette(routes=[Route("/hooks/alertmanager/am", accept, methods=["POST"]),
                        Route("/healthz", accept, methods=["GET"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""
"""The ceiling: a bare Starlette app on the same uvicorn settings, reading the body and answering 202."""
AM_CONFIG = """\
route: {receiver: "null", group_by: [alertname], group_wait: 30s}
receivers: [{name: "null"}]
"""
ALERT = {"labels": {"alertname": "A-VARY", "service": "jobs-api"}, "annotations": {"summary": "A-VARY sent NOW"}}


class _Sink:
    """The webhook contact: records when each page arrives and the send time its alert carried, and the TCP
    connections the pages came over (HTTP/1.1 keep-alive, as real receivers do: a sender that reuses its
    pooled client needs one connection, one that builds a client per page needs one per page)."""

    def __init__(self) -> None:
        self.delays_ms: list[float] = []
        self.pages = 0
        self.connections: set[tuple[str, int]] = set()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8", "replace")
                arrived = time.time() * 1000
                sink.pages += 1
                sink.connections.add(self.client_address)
                sent = re.search(r"P-\d+ sent (\d{13})", body)  # the accept -> page run's alerts only
                if sent:
                    sink.delays_ms.append(arrived - int(sent.group(1)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", _peers.free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/page"


def _pending(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM incident_intake WHERE status = 'accepted'")).scalar() or 0
            )
    finally:
        engine.dispose()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", default="1,4,16")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--page-seconds", type=float, default=20, help="length of the accept -> page run")
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    alertmanager = "/usr/bin/prometheus-alertmanager"
    if not Path(alertmanager).exists():
        raise SystemExit("Debian's prometheus-alertmanager is needed (apt-get install prometheus-alertmanager)")
    sink = _Sink()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        database_url = args.database_url or f"sqlite:///{root / 'mamori.db'}"
        if database_url.startswith("postgresql"):
            database_url = _fresh_database(database_url)
        (root / "c.yaml").write_text(CONFIG.replace("SINK", sink.url))
        (root / "am.yml").write_text(AM_CONFIG)
        ports = {"mamori": _peers.free_port(), "am": _peers.free_port(), "bare": _peers.free_port()}
        tokenfile = root / "token"
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        mamori = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVER,
                tmp,
                database_url,
                str(ports["mamori"]),
                str(root / "c.yaml"),
                str(tokenfile),
                SECRET,
            ],
            env=env,
        )
        am = subprocess.Popen(
            [
                alertmanager,
                f"--config.file={root / 'am.yml'}",
                f"--storage.path={root / 'am'}",
                f"--web.listen-address=127.0.0.1:{ports['am']}",
                "--cluster.listen-address=",
                "--log.level=error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        bare = subprocess.Popen([sys.executable, "-c", BARE, str(ports["bare"])], env=env)
        try:
            _peers.wait_until(
                lambda: tokenfile.exists() and _peers.answers(f"http://127.0.0.1:{ports['mamori']}/healthz"),
                what="Mamori",
                seconds=180,
            )
            _peers.wait_until(lambda: _peers.answers(f"http://127.0.0.1:{ports['am']}/-/ready"), what="Alertmanager")
            _peers.wait_until(lambda: _peers.answers(f"http://127.0.0.1:{ports['bare']}/healthz"), what="Starlette")
            _run(args, database_url, ports, tokenfile.read_text(), sink)
        finally:
            _peers.stop(mamori, am, bare)
            sink.server.shutdown()


AM_LABEL, BARE_LABEL, MAMORI_LABEL = (
    "Alertmanager POST /api/v2/alerts",
    "bare Starlette/uvicorn (ceiling)",
    "Mamori /hooks/alertmanager",
)


def _run(args: argparse.Namespace, database_url: str, ports: dict[str, int], token: str, sink: _Sink) -> None:
    webhook = json.dumps(
        {"version": "4", "status": "firing", "receiver": "mamori", "alerts": [{**ALERT, "status": "firing"}]}
    )
    targets: dict[str, dict[str, Any]] = {
        AM_LABEL: {"url": f"http://127.0.0.1:{ports['am']}/api/v2/alerts", "body": json.dumps([ALERT])},
        BARE_LABEL: {"url": f"http://127.0.0.1:{ports['bare']}/hooks/alertmanager/am", "body": webhook},
        MAMORI_LABEL: {
            "url": f"http://127.0.0.1:{ports['mamori']}/hooks/alertmanager/am",
            "headers": {"authorization": f"Bearer {token}"},
            "body": webhook,
        },
    }
    rows: list[list[str]] = []
    sustained = 0.0
    for connections in [int(c) for c in args.connections.split(",")]:
        results = {}
        for label, target in targets.items():
            spec = {"method": "POST", "vary": "VARY", "now": "NOW", "connections": connections, "seconds": args.seconds}
            spec["headers"] = {"content-type": "application/json", **target.get("headers", {})}
            spec.update({k: v for k, v in target.items() if k != "headers"})
            # the load generator's counter starts again each run: new names per run, or a later run's alerts
            # would join the still-firing groups of an earlier one (dedup, no page)
            spec["body"] = str(spec["body"]).replace("A-VARY", f"A{connections}-VARY")
            pages_before = sink.pages
            results[label] = _peers.load(spec)
            if label == MAMORI_LABEL:
                r = results[label]
                paged = sink.pages - pages_before  # every alert is a new group paging one user: pages = done
                backlog, drain = _drain(database_url, sink, pages_before + int(r["requests"]) - int(r["non_2xx"]))
                r.update(backlog=backlog, drain=drain, processed=paged / r["seconds"])
        peer_rate = results[AM_LABEL]["per_second"]
        ceiling = results[BARE_LABEL]["per_second"]
        mamori = results[MAMORI_LABEL]
        sustained = min(mamori["per_second"], mamori["processed"])
        for label, r in results.items():
            left = f"{int(r['backlog'])} ({r['drain']:.1f}s to drain)" if "backlog" in r else "-"
            rows.append(
                [
                    str(connections),
                    label,
                    f"{r['per_second']:,.0f}",
                    f"{r['processed']:,.0f}" if "processed" in r else "-",
                    f"{r['p50_ms']:.0f}",
                    f"{r['p99_ms']:.0f}",
                    f"{r['per_second'] / peer_rate:.3f}",
                    f"{r['per_second'] / ceiling:.2f}",
                    left,
                    str(int(r["non_2xx"] + r["errors"])),
                ]
            )
    engine = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(f"Mamori on {engine}; {args.seconds:g}s per run; one alert per request, each a new group paging one user")
    print(
        _peers.table(
            [
                "conns",
                "target",
                "accepted/s",
                "paged/s",
                "p50 ms",
                "p99 ms",
                "x Alertmanager",
                "x ceiling",
                "backlog at end",
                "errors",
            ],
            rows,
        )
    )
    rate = max(int(sustained / 2), 1)
    sink.delays_ms.clear()
    sink.connections.clear()
    pages_before = sink.pages
    spec = {"method": "POST", "vary": "VARY", "now": "NOW", "connections": 4, "seconds": args.page_seconds}
    spec["headers"] = {"content-type": "application/json", **targets[MAMORI_LABEL]["headers"]}
    spec["url"] = targets[MAMORI_LABEL]["url"]
    spec["body"] = targets[MAMORI_LABEL]["body"].replace("A-VARY", "P-VARY")
    spec["rate"] = rate
    sent = _peers.load(spec)
    backlog, drain = _drain(database_url, sink, pages_before + int(sent["requests"]) - int(sent["non_2xx"]))
    d = sink.delays_ms
    print()
    print(
        f"accept -> first page at {rate}/s (half of the sustained 16-connection rate {sustained:.0f}/s) for "
        f"{args.page_seconds:g}s: {sent['requests']:.0f} alerts, {len(d)} pages: p50 {_pct(d, 0.5):.0f} ms, "
        f"p99 {_pct(d, 0.99):.0f} ms, max {max(d) if d else float('nan'):.0f} ms; intake backlog at end {backlog} "
        f"({drain:.1f}s to drain); {sink.pages - pages_before} pages over {len(sink.connections)} TCP connection(s)"
    )


def _drain(database_url: str, sink: _Sink, pages: int) -> tuple[int, float]:
    """Payloads still waiting when the load stopped, and how long until none are and every accepted alert
    has paged (the storm is over only when its pages are out)."""
    backlog = _pending(database_url)
    start = time.monotonic()
    while (sink.pages < pages or _pending(database_url)) and time.monotonic() - start < 300:
        time.sleep(0.2)
    return backlog, time.monotonic() - start


def _fresh_database(base: str) -> str:
    """A database of its own on the given PostgreSQL server (dropped by the next run, not this one)."""
    from sqlalchemy import create_engine, make_url, text

    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = "mamori_bench_intake"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


if __name__ == "__main__":
    main()
