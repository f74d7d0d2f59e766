"""Budget and burn maths exactly as specified: half-open windows, Sloth-scaled thresholds, the events guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mamori.slo.budget import (
    BurnRule,
    Window,
    WindowCounts,
    budget,
    burn_rate,
    calendar_start,
    default_rules,
    firing,
    nominal_length,
    timeslice_units,
)

H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)


def test_default_thresholds_for_a_30_day_period() -> None:
    rules = default_rules(timedelta(days=30))
    assert [(r.severity, r.long_window, r.short_window, r.threshold) for r in rules] == [
        ("page", H, 5 * M, 14.4),
        ("page", 6 * H, 30 * M, 6.0),
        ("ticket", D, 2 * H, 3.0),
        ("ticket", 3 * D, 6 * H, 1.0),
    ]


def test_default_thresholds_for_a_28_day_period() -> None:
    assert [r.threshold for r in default_rules(timedelta(days=28))] == pytest.approx([13.44, 5.6, 2.8, 0.93333333])
    assert default_rules(timedelta(days=28))[3].threshold == 28 / 30


def test_budget_consumed_is_bad_over_allowed_bad() -> None:
    result = budget(good=9_990, total=10_000, target=0.999)
    assert result.sli == 0.999
    assert result.consumed == 1.0 and result.remaining == 0.0
    over = budget(good=9_970, total=10_000, target=0.999)
    assert over.consumed == 3.0 and over.remaining == -2.0


def test_no_events_means_no_sli_and_nothing_consumed() -> None:
    assert budget(good=0, total=0, target=0.99) == budget(good=0, total=0, target=0.5)
    assert budget(good=0, total=0, target=0.99).sli is None
    assert budget(good=0, total=0, target=0.99).remaining == 1.0


def test_burn_rate_is_error_ratio_over_allowed_ratio_and_zero_without_traffic() -> None:
    assert burn_rate(good=99, total=100, target=0.999) == 10.0
    assert burn_rate(good=0, total=0, target=0.999) == 0.0
    assert burn_rate(good=100, total=100, target=0.9) == 0.0


def _counts(long: tuple[int, int], short: tuple[int, int]) -> dict[timedelta, WindowCounts]:
    return {H: WindowCounts(*long), 5 * M: WindowCounts(*short)}


RULE = BurnRule("page", H, 5 * M, 14.4)


def test_page_fires_only_when_long_and_short_windows_both_burn() -> None:
    # error ratio 2% against a 0.1% budget = burn 20 > 14.4
    assert firing([RULE], _counts((980, 1000), (98, 100)), target=0.999, min_events=10) == [RULE]
    assert firing([RULE], _counts((980, 1000), (100, 100)), target=0.999, min_events=10) == []
    assert firing([RULE], _counts((1000, 1000), (90, 100)), target=0.999, min_events=10) == []


def test_burn_exactly_at_the_threshold_does_not_fire() -> None:
    rule = BurnRule("page", H, 5 * M, 10.0)
    assert firing([rule], _counts((990, 1000), (99, 100)), target=0.999, min_events=1) == []


def test_minimum_events_guard_stops_paging_on_tiny_traffic() -> None:
    assert firing([RULE], _counts((0, 3), (0, 3)), target=0.999, min_events=10) == []
    assert firing([RULE], _counts((0, 10), (0, 3)), target=0.999, min_events=10) == [RULE]


def test_rolling_window_is_half_open_back_from_at() -> None:
    at = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert Window("28d", rolling=True).bounds(at) == (at - 28 * D, at)


@pytest.mark.parametrize(
    ("duration", "zone", "at", "start"),
    [
        ("1M", "UTC", datetime(2026, 11, 28, 12, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)),
        ("1M", "Europe/Berlin", datetime(2026, 10, 31, 23, 30, tzinfo=UTC), datetime(2026, 10, 31, 23, tzinfo=UTC)),
        ("1Q", "UTC", datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)),
        ("1Y", "UTC", datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
        ("1w", "UTC", datetime(2026, 11, 28, 12, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)),
        ("1d", "America/New_York", datetime(2026, 11, 28, 3, tzinfo=UTC), datetime(2026, 11, 27, 5, tzinfo=UTC)),
    ],
)
def test_calendar_windows_start_at_the_period_start_in_their_zone(
    duration: str,
    zone: str,
    at: datetime,
    start: datetime,
) -> None:
    assert calendar_start(at, duration, zone) == start
    assert Window(duration, rolling=False, time_zone=zone).bounds(at) == (start, at)


def test_nominal_lengths() -> None:
    assert nominal_length("1M") == 30 * D
    assert nominal_length("4w") == 28 * D
    with pytest.raises(ValueError, match="expected a duration"):
        nominal_length("30 days")


def test_timeslices_count_good_slices_and_skip_empty_ones() -> None:
    t0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    minutes = [(t0, 99, 100), (t0 + M, 90, 100), (t0 + 2 * M, 0, 0), (t0 + 3 * M, 100, 100)]
    assert timeslice_units(minutes, slice_minutes=1, slice_target=0.95) == WindowCounts(good=2, total=3)
    # 5-minute slices aligned on the epoch: all four minutes fall in one slice, 289/300 >= 0.95
    assert timeslice_units(minutes, slice_minutes=5, slice_target=0.95) == WindowCounts(good=1, total=1)
