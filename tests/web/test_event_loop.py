"""No blocking call on the event loop: a slow credential check does not hold up other requests."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from mamori.core.runtime import Runtime
from mamori.web import deps
from mamori.web.app import create_app
from tests.conftest import issue_token


def test_a_slow_token_check_does_not_stall_the_health_check(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    token = issue_token(runtime, "read")
    real = deps.authenticate

    def slow(*args: object) -> deps.Principal:
        time.sleep(0.6)  # a held SQLite write lock, a slow PostgreSQL: the database is busy
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(deps, "authenticate", slow)
    app = create_app(runtime, run_worker=False)

    async def scenario() -> tuple[float, float, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            start = time.perf_counter()
            slow_call = asyncio.create_task(
                client.get("/api/v1/services", headers={"Authorization": f"Bearer {token}"})
            )
            await asyncio.sleep(0.05)
            health = await client.get("/healthz")
            health_done = time.perf_counter() - start
            listed = await slow_call
            return health_done, time.perf_counter() - start, health.status_code + listed.status_code

    health_done, all_done, codes = asyncio.run(scenario())
    assert codes == 400  # 200 + 200
    assert health_done < 0.45 < all_done, (health_done, all_done)


ALERTMANAGER = (
    b'{"version":"4","status":"firing","receiver":"r","groupKey":"g","alerts":[{"status":"firing",'
    b'"labels":{"alertname":"A"},"annotations":{},"startsAt":"2026-12-01T00:00:00Z"}]}'
)


@pytest.mark.parametrize(
    ("module", "name", "path", "scope", "body"),
    [
        # a webhook's blocking step is the integration's spec read (the store is the intake log's writer thread)
        ("mamori.incidents.alerts.log:IntakeLog", "load_spec", "/hooks/alertmanager/default", "ingest", ALERTMANAGER),
        ("mamori.slo.service", "ingest", "/api/v1/ingest/events", "ingest", b'{"route": "/"}\n'),
        ("mamori.slo.service", "ingest_otlp", "/api/v1/ingest/otlp/v1/logs", "ingest", b"{}"),
        ("mamori.vulns.service.vex", "import_document", "/api/v1/vulns/vex", "write", b'{"statements": []}'),
    ],
)
def test_a_slow_store_in_an_intake_endpoint_does_not_stall_the_health_check(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, module: str, name: str, path: str, scope: str, body: bytes
) -> None:
    """The intake endpoints read their body on the loop, then store it in the threadpool."""
    import importlib

    module_name, _, owner = module.partition(":")
    target = importlib.import_module(module_name)
    if owner:  # a method of a class in that module
        target = getattr(target, owner)
    real = getattr(target, name)

    slept_until: list[float] = []
    started = threading.Event()

    def slow(*args: object, **kwargs: object) -> object:
        started.set()
        time.sleep(1.0)  # the database is busy (a held SQLite write lock)
        slept_until.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, slow)
    token = issue_token(runtime, scope)
    app = create_app(runtime, run_worker=False)

    async def scenario() -> tuple[float, int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            slow_call = asyncio.create_task(client.post(path, content=body, headers=headers))
            for _ in range(1000):  # until the store has begun (were it on the loop, this would wait it out)
                if started.is_set():
                    break
                await asyncio.sleep(0.01)
            health = await client.get("/healthz")
            health_done = time.monotonic()
            stored = await slow_call
            return health_done, health.status_code, stored.status_code

    health_done, health, stored = asyncio.run(scenario())
    (store_done,) = slept_until
    assert health == 200 and health_done < store_done, "the health check waited for the slow store"
    assert stored < 500
