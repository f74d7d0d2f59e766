"""`docker buildx history inspect --format json`: one build record (pure; bytes in).

The fields read are the ones Docker's CLI reference documents for the JSON output (docs.docker.com,
"docker buildx history inspect", section "Format the output (--format)", JSON example): `Ref`, `Name`,
`Target`, `VCSRepository`, `VCSRevision`, `StartedAt`, `CompletedAt`, `Duration` (nanoseconds, Go's
time.Duration), `Status` (completed, running, failed, canceled), `NumCompletedSteps`, `NumTotalSteps`,
`NumCachedSteps`; and `Error.Message` when a build failed (the `Error` object of buildx's inspect output). The
record has no per-step durations: those come from the `--progress=rawjson` stream (`buildkit.py`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mamori.delivery.parsers.buildkit import BuildKitError
from mamori.delivery.records import parse_time

STATUSES = {"completed": "success", "failed": "failure", "canceled": "cancelled", "running": None}
GITHUB = re.compile(r"^(?:https://|git@)github\.com[/:]([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class BuildRecord:
    ref: str
    name: str
    repo: str | None
    sha: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str  # completed | in_progress
    conclusion: str | None  # success | failure | cancelled
    steps_completed: int
    steps_total: int
    steps_cached: int
    error: str | None

    @property
    def cache_hit_ratio(self) -> float | None:
        """Cached steps / all steps, as buildx's own `Build Steps: 16/16 (25% cached)` line computes it."""
        return self.steps_cached / self.steps_total if self.steps_total else None


def _count(doc: dict[str, Any], key: str) -> int:
    value = doc.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BuildKitError(f"{key}: expected a whole number >= 0")
    return value


def _text(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise BuildKitError(f"{key}: expected a string")
    return value or None


def history_inspect(data: bytes) -> BuildRecord:
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BuildKitError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("Ref"), str) or not doc["Ref"]:
        raise BuildKitError("Ref: missing (is this `docker buildx history inspect --format json` output?)")
    status = doc.get("Status", "completed")
    if status not in STATUSES:
        raise BuildKitError(f"Status: {status!r} is not one of {', '.join(STATUSES)}")
    try:
        started = parse_time(doc.get("StartedAt"))
        finished = parse_time(doc["CompletedAt"]) if doc.get("CompletedAt") else None
    except ValueError as exc:
        raise BuildKitError(f"StartedAt/CompletedAt: {exc}") from None
    duration = doc.get("Duration")
    if finished is None and status != "running" and isinstance(duration, int) and duration >= 0:
        finished = started + timedelta(microseconds=duration // 1000)
    if finished is not None and finished < started:
        raise BuildKitError("CompletedAt: before StartedAt")
    repository = _text(doc, "VCSRepository")
    match = GITHUB.match(repository or "")
    error = doc.get("Error")
    message = error.get("Message") if isinstance(error, dict) else None
    completed, total, cached = (_count(doc, k) for k in ("NumCompletedSteps", "NumTotalSteps", "NumCachedSteps"))
    if cached > completed or completed > total:
        raise BuildKitError("NumCachedSteps <= NumCompletedSteps <= NumTotalSteps does not hold")
    return BuildRecord(
        ref=doc["Ref"],
        name=(_text(doc, "Name") or _text(doc, "Target") or "docker build")[:300],
        repo=match.group(1) if match else None,
        sha=_text(doc, "VCSRevision"),
        started_at=started,
        finished_at=None if status == "running" else finished,
        status="in_progress" if status == "running" else "completed",
        conclusion=STATUSES[status],
        steps_completed=completed,
        steps_total=total,
        steps_cached=cached,
        error=message if isinstance(message, str) else None,
    )
