"""OFREP evaluation counts reach the database (interval flush, exit flush, SDK reports) and the per-key rate limit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from openfeature.evaluation_context import EvaluationContext

from mamori.core import manifest
from mamori.core.errors import ValidationFailed
from mamori.core.runtime import Runtime
from mamori.flags import ofrep
from mamori.flags.sdk import MamoriProvider
from mamori.web.app import create_app
from tests.flags.conftest import apply_config, sdk_key
from tests.flags.test_ofrep import BULK, SINGLE, stored_counts

EXIT_SCRIPT = """
import sys
from fastapi.testclient import TestClient
from mamori.core.config import load_settings
from mamori.web.app import create_app
from mamori.wiring import build_runtime

database_url, data_dir, key = sys.argv[1:4]
settings = load_settings(env={}, data_dir=data_dir, database_url=database_url, secret_key="test-secret-key-0123456789")
runtime = build_runtime(settings)
with TestClient(create_app(runtime), base_url="https://testserver") as client:
    for _ in range(5):
        response = client.post("/ofrep/v1/evaluate/flags/page-size", json={"context": {}}, headers={"X-API-Key": key})
        assert response.status_code == 200, response.text
# No flush interval has passed: the counts are written as the process exits.
"""


def test_counts_still_in_memory_are_written_when_the_process_exits(flags_runtime: Runtime, tmp_path: Path) -> None:
    key = sdk_key(flags_runtime, "production")
    script = tmp_path / "serve_and_exit.py"
    script.write_text(textwrap.dedent(EXIT_SCRIPT), encoding="utf-8")
    url = flags_runtime.settings.resolved_database_url
    done = subprocess.run(
        [sys.executable, str(script), url, str(tmp_path / "data"), key],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert stored_counts(flags_runtime) == {("production", "page-size", "small"): 5}


def test_counts_reported_by_the_python_sdk_arrive_in_the_database(flags_runtime: Runtime, server: str) -> None:
    provider = MamoriProvider(
        server, sdk_key=sdk_key(flags_runtime, "staging"), environment="staging", use_sse=False, report_interval=0.2
    )
    provider.initialize(EvaluationContext())
    ctx = EvaluationContext(targeting_key="u1", attributes={"email": "erin@jobs.example"})
    for _ in range(3):
        assert provider.resolve_boolean_details("new-search", False, ctx).value is True
    deadline = time.monotonic() + 10
    while stored_counts(flags_runtime).get(("staging", "new-search", "on")) != 3:
        assert time.monotonic() < deadline, f"the report loop did not store the counts: {stored_counts(flags_runtime)}"
        time.sleep(0.1)
    provider.report_interval = 3600.0  # what is counted from now on is reported at shutdown
    provider.resolve_integer_details("page-size", 1, ctx)
    provider.shutdown()
    assert stored_counts(flags_runtime)[("staging", "page-size", "small")] == 1


def _limited_config(root: Path, limit: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "flags.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: web-production}\n"
        f"spec:\n  environment: production\n{limit}"
        "  flagd: {flags: {page-size: {state: ENABLED, variants: {small: 10, big: 50}, defaultVariant: small}}}\n",
        encoding="utf-8",
    )
    return root


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(make_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = FakeMonotonic()
    runtime: Runtime = make_runtime(states=[ofrep.RateLimiter(clock)])
    assert ofrep.limiter(runtime).clock is clock, "the test's limiter replaces the one the plugin would build"
    apply_config(runtime, _limited_config(tmp_path / "c", "  ofrepRateLimit: {requests: 2, per: 1m}\n"))
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        first, second = ({"X-API-Key": sdk_key(runtime, "production")} for _ in range(2))
        body: dict[str, object] = {"context": {}}
        assert client.post(SINGLE + "page-size", json=body, headers=first).status_code == 200
        assert client.post(BULK, json=body, headers=first).status_code == 200
        refused = client.post(SINGLE + "page-size", json=body, headers=first)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
        assert client.post(BULK, json=body, headers=first).status_code == 429
        # Another key has its own budget; the first one may go again once a request's worth has refilled.
        assert client.post(SINGLE + "page-size", json=body, headers=second).status_code == 200
        clock.now += 29
        assert client.post(SINGLE + "page-size", json=body, headers=first).headers["Retry-After"] == "1"
        clock.now += 1
        assert client.post(SINGLE + "page-size", json=body, headers=first).status_code == 200


def test_rate_limit_is_off_by_default_and_a_bad_one_is_refused(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    apply_config(runtime, _limited_config(tmp_path / "c", ""))
    headers = {"X-API-Key": sdk_key(runtime, "production")}
    statuses = {client.post(SINGLE + "page-size", json={"context": {}}, headers=headers).status_code for _ in range(30)}
    assert statuses == {200}
    with pytest.raises(ValidationFailed) as refused:
        manifest.load(_limited_config(tmp_path / "bad", "  ofrepRateLimit: {requests: 0, per: 1m}\n"), runtime.kinds)
    assert any("ofrepRateLimit.requests" in p.loc for p in refused.value.problems)


def test_the_python_ofrep_provider_backs_off_for_the_retry_after_mamori_sends(
    flags_runtime: Runtime, server: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from openfeature import api as openfeature_api
    from openfeature.contrib.provider.ofrep import OFREPProvider

    apply_config(flags_runtime, _limited_config(tmp_path / "c", "  ofrepRateLimit: {requests: 1, per: 1m}\n"))
    key = sdk_key(flags_runtime, "production")
    provider = OFREPProvider(server, headers_factory=lambda: {"X-API-Key": key})
    openfeature_api.set_provider(provider, domain="mamori-rate-limit")
    client = openfeature_api.get_client(domain="mamori-rate-limit")
    try:
        assert client.get_integer_value("page-size", 1) == 10
        limited = client.get_integer_details("page-size", 1)
        assert limited.value == 1 and "Rate limited, retry after: 60" in (limited.error_message or "")
        assert provider.retry_after is not None
        assert 55 <= (provider.retry_after - datetime.now(UTC)).total_seconds() <= 60
        paused = client.get_integer_details("page-size", 1)
        assert paused.value == 1 and "paused" in (paused.error_message or "")
    finally:
        openfeature_api.clear_providers()


def test_a_malformed_change_event_is_skipped_and_the_stream_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from mamori.flags.sdk import MamoriProvider

    events = b'data: {not json\n\ndata: [1]\n\ndata: {"type": "refetchEvaluation"}\n\n'
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=events))
    provider = MamoriProvider("http://mamori.test", sdk_key="k", environment="production", transport=transport)
    refreshed: list[int] = []
    monkeypatch.setattr(provider, "refresh", lambda: refreshed.append(1) or True)
    provider._listen()  # before, the first line raised and ended the follower thread for good
    assert refreshed == [1]
