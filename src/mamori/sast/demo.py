"""Demo data of the sast domain: two tools' scans of a demo repository."""

from __future__ import annotations

from pathlib import Path

from mamori.core.runtime import Runtime

DEMO_DIR = Path(__file__).resolve().parent / "demo"


def seed(runtime: Runtime) -> None:
    """Idempotent: scans already stored for a commit are not stored again."""
