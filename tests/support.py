"""Shared test helpers: system tools that tests need, peers' conformance data, and a fake clock."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("MAMORI_PEERS_DIR") or REPO / ".." / "shared" / "peers").resolve()
"""Peers' public conformance data (a fresh clone elsewhere has none; MAMORI_PEERS_DIR points elsewhere)."""
MISSING_PEERS = "peer conformance data missing"
"""The one skip reason of every test that needs peer data it cannot find; the summary counts them."""
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_binary(name: str) -> str:
    """The path of a system tool; skips locally when missing but fails in CI, where .ci/run installs it."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required in CI; .ci/run should have installed it")
        pytest.skip(f"{name} is not installed")
    return path


def missing_peer_folder(*parts: str) -> Path | None:
    """The first folder (or file) on the way to `parts` under PEERS that does not exist; None when all do."""
    path = PEERS
    for part in ("", *parts):
        path = path / part if part else path
        if not path.exists():
            return path
    return None


def has_peers(*parts: str) -> bool:
    """Whether the peer data is there, for choosing parameters at collection time (never skips)."""
    return missing_peer_folder(*parts) is None


def peers(*parts: str) -> Path:
    """A path under ../shared/peers; skips locally when the peers' data is absent, fails in CI.

    Call it inside a test or fixture, never at import or collection time (use `has_peers` there)."""
    missing = missing_peer_folder(*parts)
    if missing is not None:
        if IN_CI:
            pytest.fail(f"{MISSING_PEERS}: {missing} (CI runs with ../shared/peers in place)")
        pytest.skip(f"{MISSING_PEERS}: {missing}")
    return PEERS.joinpath(*parts)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: Any, *, timeout: float = 20.0, port: int | None = None) -> Iterator[str]:
    """A real uvicorn server for `app` on `port` (a free port of 127.0.0.1 by default), in a thread; yields its
    base URL and stops it on exit."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class _Inbox:
    """What a real SMTP server on 127.0.0.1 received, message by message (raw bytes)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.port = 0

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@contextmanager
def smtp_inbox() -> Iterator[_Inbox]:
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1 for the block; its inbox is yielded."""
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


class RealPrometheus:
    """A Debian `prometheus` started by `prometheus_server`: its base URL, its log, and instant queries."""

    def __init__(self, url: str, log: Path, proc: Any) -> None:
        self.url, self._log, self._proc = url, log, proc

    def log(self) -> str:
        return self._log.read_text()[-2000:]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The result vector of an instant query (empty while nothing is stored yet); fails if Prometheus died."""
        import httpx

        if self._proc.poll() is not None:
            pytest.fail("prometheus exited: " + self.log())
        try:
            answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=2).json()
        except httpx.HTTPError:
            return []
        return list(answer.get("data", {}).get("result", []))

    def wait_for(self, promql: str, *, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Poll `promql` until it has a result (a scrape stored); fails with Prometheus's log when none comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                return result
            time.sleep(0.5)
        pytest.fail(f"Prometheus stored nothing for {promql} in {timeout:.0f} s: " + self.log())


@contextmanager
def prometheus_server(
    folder: Path, config: str, *, data: Path | None = None, args: tuple[str, ...] = ()
) -> Iterator[RealPrometheus]:
    """Run Debian's Prometheus on 127.0.0.1 with `config` (YAML text) until the block ends, ready when entered."""
    import subprocess

    import httpx

    binary = require_binary("prometheus")
    (folder / "prometheus.yml").write_text(config)
    port, log_path = free_port(), folder / "prometheus-log.txt"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={data or folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", *args],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip
        server = RealPrometheus(f"http://127.0.0.1:{port}", log_path, proc)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{server.url}/-/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("prometheus did not start: " + server.log())
                time.sleep(0.2)
            yield server
        finally:
            proc.terminate()
            proc.wait(timeout=10)
