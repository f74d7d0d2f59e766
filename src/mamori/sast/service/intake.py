"""Upload: decode and validate a whole report (SARIF or a native format) before anything is written, then
store each run as one scan in the caller's transaction."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput, PayloadTooLarge, Problem
from mamori.core.events import EventBus
from mamori.sast import identity, native, sarif
from mamori.sast.models import SastScan
from mamori.sast.result import ParsedScan
from mamori.sast.service.scans import Upload, store_scan

MAX_REPORT_BYTES = 200 * 1024 * 1024


def parse_report(payload: bytes, *, fmt: str | None = None, roots: tuple[str, ...] = ()) -> list[ParsedScan]:
    """Every run in a report; InvalidInput naming the JSON path of each problem."""
    if len(payload) > MAX_REPORT_BYTES:
        raise PayloadTooLarge(f"a report may have at most {MAX_REPORT_BYTES} bytes")
    try:
        document = json.loads(payload)
    except UnicodeDecodeError as exc:
        raise InvalidInput("the report is not UTF-8 text", problems=[Problem(loc="$", msg=str(exc))]) from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidInput("the report is not JSON", problems=[Problem(loc=where, msg=exc.msg)]) from exc
    kind = fmt or native.detect(document)
    if kind == "sarif":
        return sarif.parse(document, roots=roots)
    reader = native.NATIVE_READERS.get(kind)
    if reader is None:
        choices = ", ".join(["sarif", *native.NATIVE_READERS])
        raise InvalidInput(f"unknown report format {kind!r}; use one of {choices}")
    return [reader(document)]


def upload(
    session: Session,
    *,
    payload: bytes,
    upload: Upload,
    now: datetime,
    bus: EventBus,
    actor: str = "",
    fmt: str | None = None,
    read: identity.SourceReader | None = None,
    roots: tuple[str, ...] = (),
) -> list[SastScan]:
    """Parse everything first (a bad report writes nothing), then store each run."""
    parsed = parse_report(payload, fmt=fmt, roots=roots)
    return [store_scan(session, parsed=run, upload=upload, now=now, bus=bus, actor=actor, read=read) for run in parsed]
