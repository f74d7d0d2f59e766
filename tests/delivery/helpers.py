"""Helpers the delivery tests share: the octokit webhook samples and signed requests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from mamori.core.runtime import Runtime
from mamori.delivery.parsers import github
from tests.support import peers

SAMPLES = ("delivery", "octokit+webhooks", "payload-examples", "api.github.com")


def sample(event: str, name: str) -> bytes:
    path: Path = peers(*SAMPLES, event, "payload.json" if name == "payload" else f"{name}.payload.json")
    return path.read_bytes()


def secret(runtime: Runtime, integration: str = "default") -> bytes:
    return github.integration_secret(runtime.settings.signing_key(), integration)


def post(
    client: TestClient,
    runtime: Runtime,
    event: str,
    body: bytes | dict[str, Any],
    *,
    delivery: str | None = None,
    signature: str | None = "sign",
    integration: str = "default",
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    if signature == "sign":
        headers["X-Hub-Signature-256"] = github.sign(secret(runtime, integration), raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post(f"/hooks/github/{integration}", content=raw, headers=headers)
