"""From bytes to an import: read the JSON, find (or check) its format, parse it, store it in one transaction."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from mamori.core.errors import Conflict, InvalidInput
from mamori.core.events import EventBus
from mamori.findings import detections as cloudtrail
from mamori.findings import kinds, parsers
from mamori.findings.detections import CloudTrailDetectionSpec
from mamori.findings.parsers import asff, prowler
from mamori.findings.records import Batch
from mamori.findings.service.imports import ImportReport, import_batch, known_in

MAX_BYTES = 512 * 1024 * 1024
FORMATS = sorted([*parsers.PARSERS, cloudtrail.FORMAT, prowler.CSV_FORMAT])


@contextmanager
def fewer_collections() -> Iterator[None]:
    """No automatic collections while a large document is parsed, merged and written: its records (and the
    rows made from them) all survive the import, so each collection would only walk the growing heap again
    (with 100,000 records, the import spent a fifth of its time there). The import makes little cyclic
    garbage; a collection runs when it ends, as usual, once the collector is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def concurrent_changes_refused() -> Iterator[None]:
    """Wrap an import's transaction: a finding changed meanwhile (its version moved) or created by another
    import at the same moment becomes a Conflict the caller can retry, not an internal error."""
    try:
        yield
    except (StaleDataError, IntegrityError) as exc:
        raise Conflict(
            f"another change to the same findings happened at the same time; retry ({type(exc).__name__})"
        ) from None


def read(
    payload: bytes,
    *,
    fmt: str | None = None,
    name: str = "document",
    detections: dict[str, CloudTrailDetectionSpec] | None = None,
    session: Session | None = None,
) -> Batch:
    """Parse `payload` as a document of `fmt` (detected when None); malformed JSON or an unknown format is an
    InvalidInput naming what was expected. Bad records inside a good document are the batch's problems.
    A Prowler CSV report (not JSON) is recognised by its header line."""
    if len(payload) > MAX_BYTES:
        raise InvalidInput(f"{name}: larger than {MAX_BYTES} bytes")
    if fmt == prowler.CSV_FORMAT or (fmt is None and prowler.looks_like_csv(payload)):
        return prowler.parse_csv(payload, name=name)
    try:
        document: Any = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{name}: not valid JSON ({exc})") from None
    return parse(document, fmt=fmt, name=name, detections=detections, session=session)


def parse(
    document: Any,
    *,
    fmt: str | None = None,
    name: str = "document",
    detections: dict[str, CloudTrailDetectionSpec] | None = None,
    session: Session | None = None,
) -> Batch:
    """The batch of a parsed document; CloudTrail records are run through the detections (the shipped
    defaults unless given). With a `session`, ASFF records already stored at the same revision are not
    parsed again (the re-import of a large export costs little more than reading it)."""
    chosen = fmt or parsers.detect(document) or (cloudtrail.FORMAT if cloudtrail.looks_like(document) else None)
    if chosen == cloudtrail.FORMAT:
        return cloudtrail.detect(document, detections if detections is not None else kinds.default_detections())
    if chosen is None:
        raise InvalidInput(f"{name}: not a document of a known format; give one of {', '.join(FORMATS)}")
    if chosen == asff.FORMAT and session is not None:
        return asff.parse(document, known=known_in(session, asff.index(document)))
    parser = parsers.PARSERS.get(chosen)
    if parser is None:
        raise InvalidInput(f"unknown format {chosen!r}; use one of {', '.join(FORMATS)}")
    return parser(document)


def import_payload(
    session: Session,
    *,
    payload: bytes,
    now: datetime,
    actor: str,
    fmt: str | None = None,
    name: str = "",
    bus: EventBus | None = None,
    repository: str = "",
) -> ImportReport:
    with fewer_collections():
        batch = read(payload, fmt=fmt, name=name or "document", detections=kinds.detections(session), session=session)
        return import_batch(session, batch=batch, now=now, actor=actor, name=name, bus=bus, repository=repository)
