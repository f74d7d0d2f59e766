"""Small pure pieces of the kernel: durations, audit diffs, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mamori.core.audit import diff
from mamori.core.clock import FixedClock, parse_instant
from mamori.core.duration import format_duration, parse_duration
from mamori.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1w", 604800), ("250ms", 0.25), (90, 90)],
)
def test_durations_parse(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "m5", "5 minutes", "1h-5m", "-3s"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like 30s"):
        parse_duration(text)


def test_durations_format_to_their_shortest_exact_form() -> None:
    assert [format_duration(timedelta(seconds=s)) for s in (300, 5400, 86400, 45)] == ["5m", "90m", "1d", "45s"]


def test_audit_diff_lists_changed_paths() -> None:
    before = {"tier": 1, "links": [{"url": "a"}], "owner": "backend", "gone": True}
    after = {"tier": 2, "links": [{"url": "b"}], "owner": "backend", "new": {"x": 1}}
    assert diff(before, after) == [
        {"path": "gone", "before": True, "after": None},
        {"path": "links", "before": [{"url": "a"}], "after": [{"url": "b"}]},
        {"path": "new", "before": None, "after": {"x": 1}},
        {"path": "tier", "before": 1, "after": 2},
    ]
    assert diff(None, {"a": 1}) == [{"path": "$", "before": None, "after": {"a": 1}}]
    assert diff({"a": 1}, {"a": 1}) == []


def test_instants_accept_rfc3339_and_epoch_millis_only_with_an_offset() -> None:
    expected = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert parse_instant("2026-03-29T01:00:00Z") == expected
    assert parse_instant("2026-03-29T03:00:00+02:00") == expected
    assert parse_instant(str(int(expected.timestamp() * 1000))) == expected
    with pytest.raises(InvalidInput, match="has no offset"):
        parse_instant("2026-03-29T01:00:00")
    with pytest.raises(InvalidInput, match="not an RFC 3339 timestamp"):
        parse_instant("yesterday")


def test_fixed_clock_only_moves_when_told() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(minutes=5) == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 1, 1))
