"""Time as a dependency: the system clock in production, a fixed or stepped clock in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from mamori.core.errors import InvalidInput


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; `advance` steps it forward."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._at += delta if delta is not None else timedelta(**kwargs)
        return self._at


def utc(at: datetime) -> datetime:
    """Normalise a datetime to aware UTC; naive values are taken to be UTC already."""
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """Parse RFC 3339 (a trailing Z allowed) or epoch milliseconds into aware UTC."""
    raw = text.strip()
    if raw.lstrip("-").isdigit():
        try:
            return datetime.fromtimestamp(int(raw) / 1000, UTC)
        except (ValueError, OverflowError, OSError):
            raise InvalidInput(f"epoch milliseconds out of range: {text!r}") from None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"not an RFC 3339 timestamp: {text!r}") from exc
    if parsed.tzinfo is None:
        raise InvalidInput(f"timestamp {text!r} has no offset; add Z or +HH:MM")
    return parsed.astimezone(UTC)
