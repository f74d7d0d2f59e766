"""The timestamp forms ingest has seen, kept per runtime so each new form is checked once. No I/O.

A `ts` of the usual form `YYYY-MM-DDTHH:MM:SS[.f]Z` is read as two halves: the minute (`head`, whose
epoch minute is cached) and the seconds and offset (`tail`, checked once). The generated line scanner and
the columnar path look both halves up here instead of parsing each event's timestamp.
"""

from __future__ import annotations

import re
from datetime import datetime

_TAIL = re.compile(r":(?:[0-5]\d|60)(?:\.\d{1,9})?(?:[Zz]|[+-]00:00)")
_PREFIX = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")
CACHE_LIMIT = 200_000


class Unusual(Exception):
    """A value the columnar path leaves to the line path."""


class Stamps:
    """Timestamp halves seen before (one object per runtime: see `mamori.slo.service.objectives.Plans`)."""

    def __init__(self) -> None:
        self.tails: set[str] = set()
        self.prefixes: dict[str, int] = {}
        """`YYYY-MM-DDTHH:MM` -> epoch minute."""
        self.minutes: dict[str, int] = {}
        """The same for the reference reader (`tally.utc_minute`), which accepts a few more forms."""
        self.tail_table = TailTable(self)

    def remember_ts(self, text: str) -> bool:
        """Check a `YYYY-MM-DDTHH:MM:SS[.f]Z` timestamp and cache its two halves; False when it has another form."""
        return self.remember_tail(text[16:]) and self.remember_head(text[:16])

    def remember_tail(self, tail: str) -> bool:
        """`:SS[.f]Z` (or `+00:00`) after the minute: checked once, then found in the cache."""
        if tail in self.tails:
            return True
        if _TAIL.fullmatch(tail) is None:
            return False
        if len(self.tails) > CACHE_LIMIT:
            self.tails.clear()
        self.tails.add(tail)
        return True

    def remember_head(self, head: str) -> bool:
        """`YYYY-MM-DDTHH:MM`, a real UTC minute: checked once, then its epoch minute is in the cache."""
        if head in self.prefixes:
            return True
        if _PREFIX.fullmatch(head) is None:
            return False
        try:
            parsed = datetime.fromisoformat(head.replace("t", "T") + ":00+00:00")
        except ValueError:
            return False
        if len(self.prefixes) > CACHE_LIMIT:
            self.prefixes.clear()
        self.prefixes[head] = int(parsed.timestamp() // 60)
        return True


class TailTable(dict[str, None]):
    """Seconds-and-offset tails of `ts` seen before; a new one is checked once (`Stamps.remember_tail`)."""

    def __init__(self, stamps: Stamps) -> None:
        super().__init__()
        self.stamps = stamps

    def __missing__(self, tail: str) -> None:
        if not self.stamps.remember_tail(tail):
            raise Unusual(tail)
        if len(self) > CACHE_LIMIT:
            self.clear()
        self[tail] = None
