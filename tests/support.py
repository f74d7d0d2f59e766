"""Shared test helpers: system tools that tests need, peers' conformance data, and a fake clock."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PEERS = (REPO / ".." / "shared" / "peers").resolve()
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_binary(name: str) -> str:
    """The path of a system tool; skips locally when missing but fails in CI, where .ci/run installs it."""
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required in CI; .ci/run should have installed it")
        pytest.skip(f"{name} is not installed")
    return path


def peers(*parts: str) -> Path:
    """A path under ../shared/peers; skips locally when the peers' data is absent, fails in CI."""
    path = PEERS.joinpath(*parts)
    if not path.exists():
        if IN_CI:
            pytest.fail(f"conformance data missing: {path}")
        pytest.skip(f"conformance data missing: {path}")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
