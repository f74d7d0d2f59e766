"""Matching text (news, status updates, KEV entries) to the vendor inventory, precisely and with evidence."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Vendor names that are also everyday words: only their capitalised spelling names the vendor.
COMMON_WORDS = frozenset(
    {
        "slack",
        "zoom",
        "box",
        "notion",
        "linear",
        "segment",
        "square",
        "stripe",
        "twilio",
        "heroku",
        "render",
        "fly",
        "vercel",
        "mailgun",
        "sentry",
        "loom",
        "miro",
        "figma",
        "okta",
        "auth0",
        "snowflake",
        "workday",
        "amplitude",
        "mixpanel",
        "intercom",
        "front",
        "asana",
        "monday",
        "basecamp",
        "dropbox",
        "atlassian",
    }
)
SECURITY_WORDS = re.compile(
    r"(?i)\b(breach\w*|leak\w*|compromis\w*|vulnerab\w*|exploit\w*|ransomware|malware|phishing|stolen|"
    r"unauthori[sz]ed|attack\w*|intrusion|hack\w*|token\w*|oauth|credential\w*|exposed|exposure|CVE-\d{4}-\d+|"
    r"security incident|zero-day|0-day|backdoor)"
)
CREDENTIAL_LEAK = re.compile(
    r"(?i)\b(oauth|access|api|auth|session|refresh|github|npm|personal access)[ -]?(tokens?|keys?)\b.{0,80}?"
    r"\b(leak\w*|stole\w*|theft|compromis\w*|exposed|exfiltrat\w*|abuse\w*|revok\w*|rotat\w*)"
    r"|\b(leak\w*|stole\w*|theft|compromis\w*|exposed|exfiltrat\w*)\b.{0,80}?"
    r"\b(credentials?|secrets?|passwords?|(oauth|access|api|auth|session|refresh)[ -]?(tokens?|keys?))\b"
)
"""Wording of an incident in which credentials or tokens got out: those must be rotated within hours."""
SNIPPET_RADIUS = 90


def leaks_credentials(text: str) -> bool:
    """True when a vendor's incident text says credentials, keys or tokens were leaked or stolen."""
    return CREDENTIAL_LEAK.search(text) is not None


@dataclass(frozen=True, slots=True)
class VendorTerms:
    vendor: str
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Match:
    vendor: str
    term: str
    evidence: str


def _pattern(term: str) -> re.Pattern[str]:
    """Word boundaries that also treat '-', '.' and '_' inside names as part of the name ("okta-cli" is not Okta);
    case-sensitive for short names, acronyms and common words, case-insensitive otherwise."""
    escaped = re.escape(term)
    bounded = rf"(?<![\w\-/@.])(?:{escaped})(?![\w\-@]|\.\w)"
    sensitive = len(term) <= 4 or term.isupper() or term.lower() in COMMON_WORDS
    return re.compile(bounded, 0 if sensitive else re.IGNORECASE)


def _snippet(text: str, start: int, end: int) -> str:
    lo, hi = max(0, start - SNIPPET_RADIUS), min(len(text), end + SNIPPET_RADIUS)
    return ("…" if lo > 0 else "") + text[lo:hi].strip() + ("…" if hi < len(text) else "")


class VendorMatcher:
    def __init__(self, vendors: Iterable[VendorTerms]) -> None:
        self._patterns = [
            (v.vendor, term, _pattern(term))
            for v in vendors
            for term in sorted(set(v.terms), key=len, reverse=True)
            if term.strip()
        ]

    def match(self, text: str) -> list[Match]:
        """At most one match per vendor: the first, longest term found, with the text around it."""
        found: dict[str, Match] = {}
        for vendor, term, pattern in self._patterns:
            if vendor in found:
                continue
            hit = pattern.search(text)
            if hit:
                found[vendor] = Match(vendor, term, _snippet(text, hit.start(), hit.end()))
        return list(found.values())


def is_security_news(text: str) -> bool:
    return SECURITY_WORDS.search(text) is not None
