"""Fixtures of the findings tests: the peers' scanner outputs and an import helper on the test database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mamori.core.runtime import Runtime
from mamori.findings.service import intake
from mamori.findings.service.imports import ImportReport
from tests.support import peers
from tests.web.conftest import login  # noqa: F401  (re-exported fixture)

DOJO = ("cloudsec", "DefectDojo+django-DefectDojo", "unittests", "scans")
Importer = Callable[..., ImportReport]


def dojo(*parts: str) -> Path:
    return peers(*DOJO, *parts)


def load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture
def import_doc(runtime: Runtime) -> Importer:
    """Import a document (bytes, a path or a JSON value) in one transaction, as the API does."""

    def do(
        doc: bytes | Path | Any, *, fmt: str | None = None, name: str = "test", repository: str = ""
    ) -> ImportReport:
        if isinstance(doc, Path):
            payload = doc.read_bytes()
        elif isinstance(doc, bytes):
            payload = doc
        else:
            payload = json.dumps(doc).encode()
        with runtime.sessions.begin() as session:
            return intake.import_payload(
                session,
                payload=payload,
                now=runtime.now(),
                actor="test",
                fmt=fmt,
                name=name,
                bus=runtime.bus,
                repository=repository,
            )

    return do
