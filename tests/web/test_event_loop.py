"""No blocking call on the event loop: a slow credential check does not hold up other requests."""

from __future__ import annotations

import asyncio
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
