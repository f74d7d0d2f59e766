"""Parsers of the tools' documents into `Observation`s, one module per format, chosen from `PARSERS`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mamori.findings.parsers import asff
from mamori.findings.records import Batch

Parser = Callable[[Any], Batch]
PARSERS: dict[str, Parser] = {
    asff.FORMAT: asff.parse,
}
DETECTORS: list[tuple[str, Callable[[Any], bool]]] = [
    (asff.FORMAT, asff.looks_like),
]


def detect(document: Any) -> str | None:
    """The format of a parsed JSON document, or None when no parser recognises it."""
    for name, looks_like in DETECTORS:
        if looks_like(document):
            return name
    return None
