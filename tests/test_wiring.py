"""Cross-domain couplings made in mamori.wiring, end to end through the event bus and durable jobs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.config import load_settings
from mamori.core.runtime import Plugin, Runtime
from mamori.core.worker import Worker
from mamori.incidents.models import Alert, AlertGroup
from mamori.slo import service as slo_service
from mamori.wiring import DOMAIN_PLUGINS, build_runtime, subscribe
from tests.slo.helpers import CHECKOUT_SLO, write


def failing_traffic(runtime: Runtime, *, good: int, bad: int) -> bytes:
    ts = (runtime.now() - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    lines = [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 200}] * good
    lines += [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 503}] * bad
    return b"\n".join(orjson.dumps(x) for x in lines)


def test_every_cross_domain_subscription_names_a_published_event(runtime: Runtime) -> None:
    names = set(runtime.bus.by_name)
    assert {
        "incidents.ingest_slo_burn",
        "incidents.resolve_slo_burn",
        "flags.halt_ramps_on_burn",
        "flags.halt_ramps_on_freeze",
    } <= names


def test_an_slo_burn_becomes_an_alert_in_incident_handling(runtime: Runtime, tmp_path: Path) -> None:
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    with runtime.sessions.begin() as session:
        slo_service.ingest(session, data=failing_traffic(runtime, good=80, bad=20))
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        alerts = session.scalars(select(Alert)).all()
        groups = session.scalars(select(AlertGroup)).all()
    assert alerts, "the burn alerts should have arrived in incidents"
    assert {a.labels.get("service") for a in alerts} == {"jobs-api"}
    assert {a.labels.get("severity") for a in alerts} >= {"page"}
    assert groups and {g.status for g in groups} == {"triggered"}
    assert {a.status for a in alerts} == {"firing"}


def test_subscribing_twice_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="made twice"):
        subscribe(runtime)


class _Cache:
    def __init__(self, label: str) -> None:
        self.label = label


def test_per_runtime_states_are_found_by_type_and_tests_can_replace_them() -> None:
    def with_cache() -> Plugin:
        return Plugin(name="cache-test", states={_Cache: lambda _rt: _Cache("built")})

    DOMAIN_PLUGINS.append(with_cache)
    try:
        built = build_runtime(load_settings(env={}, database_url="sqlite://"))
        replaced = build_runtime(load_settings(env={}, database_url="sqlite://"), states=[_Cache("given")])
    finally:
        DOMAIN_PLUGINS.remove(with_cache)
    assert built.state(_Cache).label == "built"
    assert replaced.state(_Cache).label == "given"
    with pytest.raises(LookupError, match="no int in this runtime"):
        built.state(int)
    built.engine.dispose()
    replaced.engine.dispose()


def test_offline_commands_build_no_runtime_and_the_cli_support_never_imports_the_wiring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ast

    from typer.testing import CliRunner

    from mamori import cli, cli_support

    def no_runtime(settings: object) -> None:
        raise AssertionError("validate must not build a runtime (and its database engine)")

    monkeypatch.setattr(cli_support._Factories, "build_runtime", no_runtime)
    (tmp_path / "team.yaml").write_text("apiVersion: mamori.dev/v1\nkind: Team\nmetadata: {name: web}\nspec: {}\n")
    result = CliRunner().invoke(cli.app, ["validate", "--config", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert '"Team/web"' in result.stdout
    source = Path(cli_support.__file__).read_text()
    imported = {node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom) and node.module}
    assert "mamori.wiring" not in imported


def test_outbound_clients_are_pooled_per_runtime_and_survive_with_blocks(make_runtime) -> None:  # type: ignore[no-untyped-def]
    import httpx

    seen: list[str] = []
    runtime = make_runtime(http_transport=httpx.MockTransport(lambda r: seen.append(str(r.url)) or httpx.Response(204)))
    first = runtime.http_client(timeout=5.0)
    with runtime.http_client(timeout=5.0) as client:
        assert client is first, "the same options give the same pooled client (connections and TLS reused)"
        client.post("https://hooks.example/a")
    assert not first.is_closed, "leaving the with block keeps the pool for the next send"
    assert runtime.http_client(timeout=30.0) is not first
    runtime.http_client(timeout=5.0).post("https://hooks.example/b")
    assert seen == ["https://hooks.example/a", "https://hooks.example/b"]
    runtime.close_http()
    assert first.is_closed and runtime.http_client(timeout=5.0) is not first
