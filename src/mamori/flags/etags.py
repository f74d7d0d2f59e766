"""ETags of flag sets and of single flags, and the If-Match precondition on flag writes (RFC 9110 13.1.1).

A flag's ETag changes whenever that flag changes; an environment's ETag (the one `flagd.json` serves)
changes whenever any of its flags does. A write that names either in If-Match goes ahead only if it
still holds, so a client that read a flag (or the whole set) cannot overwrite a change it has not seen.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mamori.core.errors import Conflict


class PreconditionFailed(Conflict):
    """An If-Match precondition does not hold: someone changed the flag since the client read it."""

    status = 412
    title = "Precondition failed"


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def environment_etag(document: dict[str, Any], fractional: str) -> str:
    """The ETag of an environment's whole flag set."""
    return _digest({"d": document, "f": fractional})


def flag_etag(environment: str, key: str, flag: dict[str, Any]) -> str:
    """The ETag of one flag of one environment."""
    return _digest({"e": environment, "k": key, "flag": flag})


def parse_if_match(header: str | None) -> tuple[str, ...] | None:
    """The entity tags of an If-Match header (None when there is none); `*` stays `*`."""
    if header is None:
        return None
    return tuple(tag for tag in (part.strip() for part in header.split(",")) if tag)


def holds(tags: tuple[str, ...], *, flag: str | None, environment: str) -> bool:
    """Whether If-Match `tags` hold for a flag whose ETag is `flag` (None: no such flag) in an environment
    whose ETag is `environment`: `*` when the flag exists, else a tag equal to either ETag.

    The comparison is strong, as If-Match requires: a weak tag (`W/"..."`) never matches."""
    if "*" in tags:
        return flag is not None
    return any(tag in (flag, environment) for tag in tags if not tag.startswith("W/"))
