"""Fixtures of the flags tests: an applied flag set per environment and SDK keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mamori.core import auth, manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.flags import counts
from mamori.web.app import create_app
from tests.support import serving

WEB_FLAGS: dict[str, Any] = {
    "flags": {
        "new-search": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {"if": [{"ends_with": [{"var": "email"}, "@jobs.example"]}, "on", None]},
        },
        "checkout-theme": {
            "state": "ENABLED",
            "variants": {"light": "light", "dark": "dark"},
            "defaultVariant": "light",
            "metadata": {"owner": "frontend"},
        },
        "page-size": {"state": "ENABLED", "variants": {"small": 10, "big": 50}, "defaultVariant": "small"},
        "legacy-banner": {"state": "DISABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"},
        "broken": {
            "state": "ENABLED",
            "variants": {"a": "a"},
            "defaultVariant": "a",
            "targeting": {"if": [{"$ref": "missing-rule"}, "a", None]},
        },
    },
}


def write_config(root: Path, *, production_approval: bool = False, flags: dict[str, Any] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    document = flags or WEB_FLAGS
    # `broken` names a $ref no evaluator defines: the FlagSet check refuses it, so leave it out of config.
    clean = {"flags": {k: v for k, v in document["flags"].items() if k != "broken"}}
    (root / "web.flagd.json").write_text(json.dumps(clean), encoding="utf-8")
    (root / "flags.yaml").write_text(
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: web-production}\n"
        f"spec: {{environment: production, file: web.flagd.json, service: jobs-web,"
        f" requireApproval: {str(production_approval).lower()}}}\n---\n"
        "apiVersion: mamori.dev/v1\nkind: FlagSet\nmetadata: {name: web-staging}\n"
        "spec: {environment: staging, file: web.flagd.json}\n",
        encoding="utf-8",
    )
    return root


def apply_config(runtime: Runtime, root: Path) -> manifest.ApplyReport:
    return manifest.apply(runtime, manifest.load(root, runtime.kinds), actor=Actor(name="ci", source="config"))


def sdk_key(runtime: Runtime, environment: str) -> str:
    with runtime.sessions.begin() as session:
        return auth.create_token(
            session,
            user=None,
            scopes=["flags:evaluate"],
            environment=environment,
            now=runtime.now(),
            actor=Actor.system("test"),
            name=f"sdk-{environment}",
        ).secret


@pytest.fixture
def flags_runtime(runtime: Runtime, tmp_path: Path) -> Runtime:
    apply_config(runtime, write_config(tmp_path / "config"))
    return runtime


@pytest.fixture
def server(flags_runtime: Runtime) -> Iterator[str]:
    with serving(create_app(flags_runtime)) as base:
        yield base


@pytest.fixture(autouse=True)
def _forget_unwritten_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    """OFREP counts still in memory when a test ends would be written at exit to a database that is gone."""
    yield
    for value in getattr(request.node, "funcargs", {}).values():
        if isinstance(value, Runtime):
            counts.buffer_for(value).counter.drain()
