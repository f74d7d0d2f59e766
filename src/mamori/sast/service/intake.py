"""Upload: decode and validate a whole report (SARIF or a native format) before anything is written, then
store each run as one scan in the caller's transaction."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput, PayloadTooLarge, Problem
from mamori.core.events import EventBus
from mamori.sast import gcpause, identity, native, sarif
from mamori.sast.models import SastScan
from mamori.sast.result import ParsedScan
from mamori.sast.service.scans import Upload, store_scan

MAX_REPORT_BYTES = 200 * 1024 * 1024


def parse_report(payload: bytes, *, fmt: str | None = None, roots: tuple[str, ...] = ()) -> list[ParsedScan]:
    """Every run in a report; InvalidInput naming the JSON path of each problem."""
    if len(payload) > MAX_REPORT_BYTES:
        raise PayloadTooLarge(f"a report may have at most {MAX_REPORT_BYTES} bytes")
    with gcpause.paused():
        return _parse(payload, fmt=fmt, roots=roots)


def _parse(payload: bytes, *, fmt: str | None, roots: tuple[str, ...]) -> list[ParsedScan]:
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


def checkout_reader(root: Path) -> identity.SourceReader:
    """Files of a checkout, by repository-relative path; None outside the checkout or when unreadable."""
    base = root.resolve()

    def read(path: str) -> str | None:
        target = (base / path).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            return None
        try:
            return target.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    return read


def upload_files(
    session: Session,
    *,
    payloads: list[tuple[str, bytes]],
    upload: Upload,
    now: datetime,
    bus: EventBus,
    actor: str = "",
    fmt: str | None = None,
    checkout: Path | None = None,
) -> list[SastScan]:
    """Several reports of one commit in one transaction: all are parsed (and any problem named with its file)
    before the first is stored."""
    roots = (str(checkout.resolve()),) if checkout else ()
    parsed: list[tuple[str, list[ParsedScan]]] = []
    problems: list[Problem] = []
    for name, payload in payloads:
        try:
            parsed.append((name, parse_report(payload, fmt=fmt, roots=roots)))
        except InvalidInput as exc:
            problems.append(Problem(loc="$", msg=exc.detail, file=name))
            problems.extend(Problem(loc=p.loc, msg=p.msg, file=name) for p in exc.problems)
    if problems:
        raise InvalidInput("nothing was stored: a report is not valid", problems=problems)
    read = checkout_reader(checkout) if checkout else None
    scans: list[SastScan] = []
    for name, runs in parsed:
        named = Upload(**{**upload.__dict__, "source_name": name})
        scans.extend(
            store_scan(session, parsed=run, upload=named, now=now, bus=bus, actor=actor, read=read) for run in runs
        )
    return scans
