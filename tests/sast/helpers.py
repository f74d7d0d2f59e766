"""Helpers the sast tests share: the peers' fixtures, reading reports, storing a scan in one transaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mamori.core.runtime import Runtime
from mamori.sast.service import intake
from mamori.sast.service.scans import Upload
from tests.support import peers

DOJO = ("sast", "DefectDojo+django-DefectDojo", "unittests", "scans")


def dojo(*parts: str) -> Path:
    """A DefectDojo parser fixture (skips locally when the peers' data is missing)."""
    return peers(*DOJO, *parts)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def upload(runtime: Runtime, path: Path, *, repo: str = "acme/shop", commit: str = "c1", **kw: Any) -> dict[str, int]:
    """Store one report as one scan; the matcher's counts."""
    with runtime.sessions.begin() as session:
        scans = intake.upload(
            session,
            payload=path.read_bytes(),
            upload=Upload(repo=repo, commit=commit, source_name=path.name, **kw),
            now=runtime.now(),
            bus=runtime.bus,
            actor="test",
        )
        assert len(scans) == 1
        return dict(scans[0].counts)
