"""Reading the fields of dashboard forms that every domain's pages share (dates typed by a person)."""

from __future__ import annotations

from datetime import UTC, datetime, time


def form_day(value: str) -> datetime | None:
    """A date field (YYYY-MM-DD, or a full ISO timestamp whose day is taken) as the start of that day in UTC;
    None when left empty; ValueError when it is not a date."""
    if not value.strip():
        return None
    return datetime.combine(datetime.fromisoformat(value.strip()).date(), time(), UTC)
