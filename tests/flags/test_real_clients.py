"""Real OFREP clients against Mamori on a real HTTP server: the Python and Node OpenFeature OFREP providers, SSE."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from openfeature import api as openfeature_api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ProviderNotReadyError
from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.flags.models import FlagEvaluationCount
from mamori.flags.sdk import MamoriProvider
from tests.conftest import issue_token
from tests.flags.conftest import sdk_key
from tests.support import IN_CI

pytestmark = pytest.mark.slow


def test_python_ofrep_provider_evaluates_against_mamori(flags_runtime: Runtime, server: str) -> None:
    key = sdk_key(flags_runtime, "production")
    provider = OFREPProvider(server, headers_factory=lambda: {"Authorization": f"Bearer {key}"})
    openfeature_api.set_provider(provider, domain="mamori-test")
    client = openfeature_api.get_client(domain="mamori-test")
    ctx = EvaluationContext(targeting_key="u1", attributes={"email": "carol@jobs.example"})
    details = client.get_boolean_details("new-search", False, ctx)
    assert (details.value, details.variant, details.reason) == (True, "on", "TARGETING_MATCH")
    assert client.get_string_value("checkout-theme", "x", ctx) == "light"
    assert client.get_integer_value("page-size", 1, ctx) == 10
    assert client.get_boolean_details("legacy-banner", False, ctx).reason == "DISABLED"
    missing = client.get_string_details("no-such-flag", "fallback", ctx)
    assert (missing.value, missing.error_code) == ("fallback", "FLAG_NOT_FOUND")
    openfeature_api.clear_providers()


def test_sse_stream_announces_a_change_with_refetch_evaluation(flags_runtime: Runtime, server: str) -> None:
    key = sdk_key(flags_runtime, "staging")
    bulk = httpx.post(f"{server}/ofrep/v1/evaluate/flags", json={"context": {}}, headers={"X-API-Key": key})
    uri = bulk.json()["eventStreams"][0]["endpoint"]["requestUri"]
    writer = {"Authorization": f"Bearer {issue_token(flags_runtime, 'write')}"}
    events: list[dict[str, object]] = []
    with httpx.stream("GET", server + uri, timeout=15) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        toggled = httpx.post(
            f"{server}/api/v1/flags/staging/flags/page-size/toggle", json={"enabled": False}, headers=writer
        )
        assert toggled.status_code == 200, toggled.text
        for line in lines:
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                break
    assert events[0]["type"] == "refetchEvaluation"
    assert events[0]["etag"] != bulk.headers["ETag"]
    bad = httpx.get(f"{server}/ofrep/v1/events?channel=staging.1.forged", timeout=5)
    assert bad.status_code == 401


NODE_SCRIPT = """
const { OpenFeature } = require('@openfeature/server-sdk');
const { OFREPProvider } = require('@openfeature/ofrep-provider');
(async () => {
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: process.argv[2],
    headers: [['X-API-Key', process.argv[3]]] }));
  const client = OpenFeature.getClient();
  const ctx = { targetingKey: 'u1', email: 'dave@jobs.example' };
  const out = {
    search: await client.getBooleanDetails('new-search', false, ctx),
    theme: await client.getStringValue('checkout-theme', 'x', ctx),
    size: await client.getNumberValue('page-size', 1, ctx),
    missing: await client.getStringDetails('no-such-flag', 'fallback', ctx),
  };
  console.log(JSON.stringify(out));
  await OpenFeature.close();
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="session")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        if IN_CI:
            pytest.fail("node and npm are required in CI")
        pytest.skip("node/npm not installed")
    root = tmp_path_factory.mktemp("node-ofrep")
    (root / "package.json").write_text('{"name": "mamori-ofrep-test", "private": true}', encoding="utf-8")
    done = subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "@openfeature/server-sdk",
            "@openfeature/ofrep-provider",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if done.returncode != 0:
        if IN_CI:
            pytest.fail(f"npm install failed: {done.stderr}")
        pytest.skip(f"npm install failed: {done.stderr[:300]}")
    return root


def test_node_ofrep_provider_evaluates_against_mamori(flags_runtime: Runtime, server: str, node_modules: Path) -> None:
    script = node_modules / "check.js"
    script.write_text(NODE_SCRIPT, encoding="utf-8")
    done = subprocess.run(
        ["node", str(script), server, sdk_key(flags_runtime, "production")],
        cwd=node_modules,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert (out["search"]["value"], out["search"]["variant"], out["search"]["reason"]) == (
        True,
        "on",
        "TARGETING_MATCH",
    )
    assert out["theme"] == "light" and out["size"] == 10
    assert (out["missing"]["value"], out["missing"]["errorCode"]) == ("fallback", "FLAG_NOT_FOUND")


def _wait_for(predicate: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_in_process_sdk_follows_changes_reports_counts_and_survives_an_outage(
    flags_runtime: Runtime, server: str, tmp_path: Path
) -> None:
    key = sdk_key(flags_runtime, "staging")
    cache = tmp_path / "flags-cache.json"
    provider = MamoriProvider(
        server, sdk_key=key, environment="staging", cache_path=cache, poll_interval=30, report_interval=3600
    )
    provider.initialize(EvaluationContext())
    ctx = EvaluationContext(targeting_key="u1", attributes={"email": "erin@jobs.example"})
    assert provider.resolve_boolean_details("new-search", False, ctx).value is True
    assert provider.resolve_integer_details("page-size", 1, ctx).value == 10
    assert cache.exists()
    writer = {"Authorization": f"Bearer {issue_token(flags_runtime, 'write')}"}
    changed = httpx.post(
        f"{server}/api/v1/flags/staging/flags/page-size/rollout", json={"percent": 100}, headers=writer
    )
    assert changed.status_code == 200, changed.text
    assert _wait_for(lambda: provider.resolve_integer_details("page-size", 1, ctx).value == 50), "SSE change missed"
    assert provider.report_counts() >= 3
    with flags_runtime.sessions() as session:
        stored = session.scalars(select(FlagEvaluationCount).where(FlagEvaluationCount.flag_key == "page-size")).all()
    assert sum(r.count for r in stored) >= 2
    provider.shutdown()
    # Mamori down: a new process starts from the file cache and serves the last good set.
    offline = MamoriProvider(
        "http://127.0.0.1:9",
        sdk_key=key,
        environment="staging",
        cache_path=cache,
        use_sse=False,
        poll_interval=3600,
        timeout=0.5,
    )
    offline.initialize(EvaluationContext())
    assert offline.resolve_integer_details("page-size", 1, ctx).value == 50
    offline.shutdown()
    with pytest.raises(ProviderNotReadyError):
        MamoriProvider("http://127.0.0.1:9", sdk_key=key, environment="staging", timeout=0.5).initialize(
            EvaluationContext()
        )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_in_process_sdk_restarts_its_threads_in_a_forked_child(flags_runtime: Runtime, server: str) -> None:
    provider = MamoriProvider(
        server, sdk_key=sdk_key(flags_runtime, "staging"), environment="staging", report_interval=3600, timeout=30
    )  # a loaded CI machine once took more than the default 5 s to answer the first load
    provider.initialize(EvaluationContext())
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: evaluate, which must restart the (lost) background threads
        try:
            value = provider.resolve_integer_details("page-size", 1).value
            alive = [t.is_alive() for t in provider._threads]
            os.write(write, json.dumps({"value": value, "threads": alive}).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    report = json.loads(os.read(read, 1000))
    os.close(read)
    provider.shutdown()
    assert report == {"value": 10, "threads": [True, True]}
