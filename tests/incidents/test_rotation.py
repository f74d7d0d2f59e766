from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from mamori.incidents.kinds.documents import ScheduleSpec
from mamori.incidents.oncall.rotation import final_shifts, gaps, next_shift, who
from tests.incidents.examples import SCHEDULE

EXAMPLE = ScheduleSpec.model_validate(yaml.safe_load(SCHEDULE)["spec"])


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def spec(**layer: Any) -> ScheduleSpec:
    base = {"name": "l", "start": "2026-01-05T09:00:00", "users": ["a@x.io", "b@x.io"]}
    return ScheduleSpec.model_validate({"timeZone": "Europe/Berlin", "layers": [{**base, **layer}]})


def handoffs(s: ScheduleSpec, start: str, end: str) -> list[tuple[str, str | None]]:
    return [(sh.start.isoformat(), sh.user) for sh in final_shifts(s, z(start), z(end))]


def test_daily_handoff_stays_at_local_nine_across_spring_dst() -> None:
    s = spec(rotation={"type": "daily", "handoff": "09:00"})
    starts = [sh.start for sh in final_shifts(s, z("2026-03-27T12:00:00Z"), z("2026-03-31T12:00:00Z"))][1:]
    # CET (UTC+1) until Sunday 29 March 02:00, CEST (UTC+2) after.
    assert starts == [
        z("2026-03-28T08:00:00Z"),
        z("2026-03-29T07:00:00Z"),
        z("2026-03-30T07:00:00Z"),
        z("2026-03-31T07:00:00Z"),
    ]


def test_daily_shift_spanning_autumn_dst_lasts_25_hours() -> None:
    s = spec(rotation={"type": "daily", "handoff": "09:00"})
    shifts = final_shifts(s, z("2026-10-24T07:00:00Z"), z("2026-10-26T12:00:00Z"))
    assert shifts[0].start == z("2026-10-24T07:00:00Z")
    assert shifts[0].end == z("2026-10-25T08:00:00Z")
    assert shifts[0].end - shifts[0].start == timedelta(hours=25)
    assert shifts[1].end == z("2026-10-26T08:00:00Z")


def test_weekly_handoff_monday_nine_moves_utc_instant_with_dst() -> None:
    s = spec(rotation={"type": "weekly", "handoff": "Mon 09:00"})
    result = handoffs(s, "2026-03-23T12:00:00Z", "2026-04-07T00:00:00Z")
    assert result[1][0] == "2026-03-30T07:00:00+00:00"
    assert result[2][0] == "2026-04-06T07:00:00+00:00"
    before = handoffs(s, "2026-03-15T12:00:00Z", "2026-03-24T00:00:00Z")
    assert before[1][0] == "2026-03-16T08:00:00+00:00"


def test_rotation_order_follows_participants_and_wraps() -> None:
    s = spec(rotation={"type": "daily", "handoff": "09:00"}, users=["a@x.io", "b@x.io", "c@x.io"])
    users = [u for _, u in handoffs(s, "2026-01-05T08:00:00Z", "2026-01-09T08:00:00Z")]
    assert users == ["a@x.io", "b@x.io", "c@x.io", "a@x.io"]


def test_layer_starting_between_handoffs_has_a_short_first_shift() -> None:
    s = spec(start="2026-01-05T15:00:00", rotation={"type": "daily", "handoff": "09:00"})
    shifts = final_shifts(s, z("2026-01-05T00:00:00Z"), z("2026-01-07T00:00:00Z"))
    assert shifts[0].user is None and shifts[0].end == z("2026-01-05T14:00:00Z")
    assert (shifts[1].user, shifts[1].end) == ("a@x.io", z("2026-01-06T08:00:00Z"))
    assert shifts[2].user == "b@x.io"


def test_custom_rotation_of_twelve_hours() -> None:
    s = spec(start="2026-01-05T08:00:00", rotation={"type": "custom", "length": "12h"})
    result = handoffs(s, "2026-01-05T07:00:00Z", "2026-01-06T07:00:00Z")
    assert result == [("2026-01-05T07:00:00+00:00", "a@x.io"), ("2026-01-05T19:00:00+00:00", "b@x.io")]


def test_later_layer_wins_inside_its_restriction_and_earlier_layer_fills_the_rest() -> None:
    # Thursday 26 March 2026: weekly layer has carol (week 11), the weekday layer has dave (day 80).
    assert who(EXAMPLE, z("2026-03-26T10:00:00Z")).user == "dave@example.com"
    assert who(EXAMPLE, z("2026-03-26T10:00:00Z")).layer == "weekday-days"
    assert who(EXAMPLE, z("2026-03-26T17:30:00Z")).user == "carol@example.com"
    assert who(EXAMPLE, z("2026-03-26T17:30:00Z")).layer == "weekly"


def test_override_beats_every_layer_and_its_local_times_follow_dst() -> None:
    # 2026-03-28T20:00 CET = 19:00Z; 2026-03-30T09:00 CEST = 07:00Z.
    assert who(EXAMPLE, z("2026-03-28T18:59:59Z")).user == "carol@example.com"
    frank = who(EXAMPLE, z("2026-03-28T19:00:00Z"))
    assert (frank.user, frank.layer) == ("frank@example.com", "override")
    assert who(EXAMPLE, z("2026-03-30T06:59:59Z")).layer == "override"
    after = who(EXAMPLE, z("2026-03-30T07:00:00Z"))
    assert (after.user, after.layer) == ("dave@example.com", "weekday-days")


def test_restriction_on_weekdays_leaves_a_gap_at_weekends_when_alone() -> None:
    s = spec(
        rotation={"type": "daily", "handoff": "09:00"},
        restrictions=[{"days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "from": "09:00", "to": "18:00"}],
    )
    found = gaps(s, z("2026-01-09T00:00:00Z"), z("2026-01-13T00:00:00Z"))
    # Friday 18:00 CET to Monday 09:00 CET is one gap.
    assert (found[1].start, found[1].end) == (z("2026-01-09T17:00:00Z"), z("2026-01-12T08:00:00Z"))


def test_overnight_restriction_spans_midnight() -> None:
    s = spec(rotation={"type": "daily", "handoff": "09:00"}, restrictions=[{"from": "22:00", "to": "06:00"}])
    assert who(s, z("2026-01-06T23:30:00Z")).user is not None
    assert who(s, z("2026-01-07T12:00:00Z")).user is None


def test_nobody_before_the_layer_starts_and_next_shift_is_the_next_person() -> None:
    assert who(EXAMPLE, z("2026-01-01T00:00:00Z")).user is None
    upcoming = next_shift(EXAMPLE, z("2026-03-26T10:00:00Z"))
    assert upcoming is not None and upcoming.user == "carol@example.com"


def test_final_shifts_cover_the_window_without_holes_or_overlaps() -> None:
    lo, hi = z("2026-03-20T00:00:00Z"), z("2026-04-10T00:00:00Z")
    shifts = final_shifts(EXAMPLE, lo, hi)
    assert shifts[0].start == lo and shifts[-1].end == hi
    assert all(a.end == b.start for a, b in itertools.pairwise(shifts))
    assert all(a.start < a.end for a in shifts)
    assert not any(s.user is None for s in shifts)
    assert shifts[0].start.tzinfo == UTC
