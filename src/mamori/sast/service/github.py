"""GitHub code scanning into Mamori: a recorded or fetched alerts listing is a full scan of the default
branch; a `code_scanning_alert` event adds or updates one alert (closing nothing else), or closes it."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput, Problem
from mamori.core.events import EventBus
from mamori.sast import github
from mamori.sast.models import SastFinding, SastScan, SastSource
from mamori.sast.result import ParsedScan
from mamori.sast.service.scans import Upload, store_scan

CATEGORY = "github"


def _decode(payload: bytes) -> object:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("not JSON", problems=[Problem(loc="$", msg=str(exc))]) from exc


def import_alerts(
    session: Session, *, payload: bytes, repo: str, commit: str, now: datetime, bus: EventBus, branch: str | None = None
) -> list[SastScan]:
    """Every tool's open and dismissed alerts as one scan each (alerts no longer listed become fixed)."""
    scans = github.parse_alerts(_decode(payload))
    upload = Upload(repo=repo, commit=commit, branch=branch, category=CATEGORY, source_name="github alerts")
    return [store_scan(session, parsed=scan, upload=upload, now=now, bus=bus, actor="github") for scan in scans]


def apply_event(session: Session, *, payload: bytes, now: datetime, bus: EventBus) -> str:
    """Apply one webhook delivery; returns what was done (for the hook's answer)."""
    event = github.parse_event(_decode(payload))
    tool = event.result.tool
    if event.action == "fixed":
        number = event.result.tool_fingerprints["github-alert"]
        fingerprint = f"tool:{tool}:github-alert={number}"
        sources = session.scalars(
            select(SastSource).where(SastSource.repo == event.repo, SastSource.tool == tool, SastSource.open)
        )
        closed = 0
        for source in sources:
            if fingerprint in source.fingerprints:
                source.open, closed = False, closed + 1
                others = session.scalar(
                    select(SastSource.id).where(
                        SastSource.finding_id == source.finding_id, SastSource.open, SastSource.id != source.id
                    )
                )
                if others is None:
                    finding = session.get_one(SastFinding, source.finding_id)
                    finding.open = False
                    if finding.state in ("new", "confirmed"):
                        finding.state = "fixed"
        return f"closed {closed}"
    branch = event.ref.removeprefix("refs/heads/") or None
    upload = Upload(
        repo=event.repo, commit=event.commit or "unknown", branch=branch, category=CATEGORY, scanned_paths=[],
        source_name=f"code_scanning_alert {event.action}",
    )  # fmt: skip
    scan = store_scan(
        session, parsed=ParsedScan(tool=event.tool, results=[event.result], format="github"), upload=upload,
        now=now, bus=bus, actor="github",
    )  # fmt: skip
    return f"stored {scan.counts}"
