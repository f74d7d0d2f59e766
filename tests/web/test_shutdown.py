"""Plugins' shutdown hooks run when the server stops, even if one of them fails."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mamori.core.runtime import Plugin, Runtime
from mamori.web.app import create_app


def test_shutdown_hooks_run_when_the_app_stops(runtime: Runtime) -> None:
    calls: list[str] = []

    def broken(_: Runtime) -> None:
        calls.append("broken")
        raise RuntimeError("flush failed")

    runtime.plugins.append(Plugin(name="first", on_shutdown=broken))
    runtime.plugins.append(Plugin(name="second", on_shutdown=lambda rt: calls.append("second")))
    with TestClient(create_app(runtime)) as client:
        assert client.get("/healthz").status_code == 200
        assert calls == []
    assert calls == ["broken", "second"]
