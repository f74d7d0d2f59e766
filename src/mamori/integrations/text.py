"""Making text safe for where it goes: a mail header (one line, no control characters) and Slack mrkdwn
(`&`, `<`, `>` escaped, so an alert summary cannot mention @channel or forge a link)."""

from __future__ import annotations

import re

MAX_HEADER = 250
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_safe(value: str, *, limit: int = MAX_HEADER) -> str:
    """One line for a mail header: control characters (CR, LF, tabs) become a space, runs of spaces one."""
    flat = " ".join(_CONTROL.sub(" ", value).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def slack_escape(value: str) -> str:
    """Slack's three control characters escaped as its API documents: & -> &amp;, < -> &lt;, > -> &gt;."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def address_safe(address: str) -> str:
    """An email address as it goes into To: refused (ValueError) when it carries a line break or comma."""
    if _CONTROL.search(address) or "," in address:
        raise ValueError(f"not a single email address: {address[:80]!r}")
    return address.strip()
