"""URLs Mamori stores and renders: only http(s) with a host, checked when configuration is applied and again
when a page renders it (a stored `javascript:` link must never become a clickable link)."""

from __future__ import annotations

from typing import TypeGuard
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


def is_http_url(value: object) -> TypeGuard[str]:
    """True for an absolute http(s) URL with a host and no whitespace or control characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        return False
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_http_url(value: str) -> str:
    """A pydantic validator's body: the URL itself, or ValueError saying what is wrong."""
    if not is_http_url(value):
        raise ValueError(f"expected an absolute http(s) URL, got {value[:200]!r}")
    return value


def safe_href(value: object) -> str | None:
    """What a template may put in href: an http(s) URL or a path on Mamori itself; None for anything else."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value if not any(ord(ch) < 32 for ch in value) else None
    return value if is_http_url(value) else None
