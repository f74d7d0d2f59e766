"""From bytes to an import: read the JSON, find (or check) its format, parse it, store it in one transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput
from mamori.core.events import EventBus
from mamori.findings import parsers
from mamori.findings.records import Batch
from mamori.findings.service.imports import ImportReport, import_batch

MAX_BYTES = 512 * 1024 * 1024


def read(payload: bytes, *, fmt: str | None = None, name: str = "document") -> Batch:
    """Parse `payload` as a document of `fmt` (detected when None); malformed JSON or an unknown format is an
    InvalidInput naming what was expected. Bad records inside a good document are the batch's problems."""
    if len(payload) > MAX_BYTES:
        raise InvalidInput(f"{name}: larger than {MAX_BYTES} bytes")
    try:
        document: Any = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{name}: not valid JSON ({exc})") from None
    return parse(document, fmt=fmt, name=name)


def parse(document: Any, *, fmt: str | None = None, name: str = "document") -> Batch:
    chosen = fmt or parsers.detect(document)
    if chosen is None:
        raise InvalidInput(
            f"{name}: not a document of a known format; give one of {', '.join(sorted(parsers.PARSERS))}"
        )
    parser = parsers.PARSERS.get(chosen)
    if parser is None:
        raise InvalidInput(f"unknown format {chosen!r}; use one of {', '.join(sorted(parsers.PARSERS))}")
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
    batch = read(payload, fmt=fmt, name=name or "document")
    return import_batch(session, batch=batch, now=now, actor=actor, name=name, bus=bus, repository=repository)
