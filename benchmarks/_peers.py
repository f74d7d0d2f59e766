"""What the side-by-side benchmarks share: the Node load generator and peers, processes, ports, tables.

Node packages (autocannon, the Unleash proxy) are installed from `benchmarks/node/package.json` into
`benchmarks/.work/node` on first use (`npm install`, the npm registry must be reachable).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / ".work" / "node"


def node_modules() -> Path:
    """The installed Node packages (installed on first use)."""
    modules = NODE_DIR / "node_modules"
    if not (modules / "autocannon").is_dir() or not (modules / "@unleash" / "proxy").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is needed for the load generator (Debian: apt-get install npm)")
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "node" / "package.json", NODE_DIR / "package.json")
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR)], check=True)
    return modules


def load(spec: dict[str, object]) -> dict[str, float]:
    """Drive one target with autocannon (`benchmarks/node/load.js`) and return its figures."""
    node_modules()
    done = subprocess.run(
        ["node", str(HERE / "node" / "load.js"), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
        cwd=NODE_DIR,
        env={"NODE_PATH": str(NODE_DIR / "node_modules"), "PATH": "/usr/bin:/bin"},
        timeout=float(spec.get("seconds", 5)) + 60,  # type: ignore[arg-type]
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], *, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start within {seconds:g}s")
        time.sleep(0.2)


def answers(url: str, **kwargs: object) -> bool:
    try:
        return httpx.get(url, timeout=1, **kwargs).status_code < 500  # type: ignore[arg-type]
    except httpx.HTTPError:
        return False


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
