"""Counting events into per-minute buckets: window sums equal a brute-force count; bad batches count nothing."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.core.errors import InvalidInput
from mamori.slo import counting, definitions
from mamori.slo.evaluate import MemoryStore, to_minute
from mamori.slo.openslo import plain
from tests.slo.helpers import CHECKOUT_SLO

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _objectives(text: str = CHECKOUT_SLO) -> list[definitions.CompiledObjective]:
    raw = yaml.safe_load(text)
    return definitions.compile_objectives(
        [definitions.RawDoc("SLO", raw["metadata"]["name"], raw["metadata"], plain(raw["spec"]))]
    )


def _line(offset_s: int, status: int, route: str = "/apply", service: str = "jobs-api") -> bytes:
    ts = (T0 + timedelta(seconds=offset_s)).isoformat().replace("+00:00", "Z")
    return orjson.dumps({"ts": ts, "service": service, "route": route, "status": status})


EVENTS = st.lists(
    st.tuples(
        st.integers(0, 3 * 3600),
        st.sampled_from([200, 404, 500, 503]),
        st.sampled_from(["/apply", "/apply/confirm", "/search"]),
        st.sampled_from(["jobs-api", "jobs-web"]),
    ),
    max_size=200,
)


@settings(max_examples=60, deadline=None)
@given(EVENTS, st.integers(0, 3 * 60), st.integers(0, 3 * 60))
def test_window_sums_equal_a_brute_force_count(events: list[tuple[int, int, str, str]], a: int, b: int) -> None:
    [objective] = _objectives()
    data = b"\n".join(_line(*e) for e in events)
    store = MemoryStore(counting.count(counting.parse_lines(counting.split_lines(data)), [objective]))
    start_min, end_min = sorted((a, b))
    start, end = T0 + timedelta(minutes=start_min), T0 + timedelta(minutes=end_min)
    inside = [
        e
        for e in events
        if e[3] == "jobs-api" and e[2].startswith("/apply") and start <= T0 + timedelta(seconds=e[0]) < end
    ]
    expected = (sum(1 for e in inside if e[1] < 500), len(inside))
    assert store.totals(objective.series, to_minute(start), to_minute(end)) == expected


def test_slices_keep_counts_per_event_field() -> None:
    [objective] = _objectives()
    data = b"\n".join([_line(0, 200), _line(1, 500, "/apply/confirm"), _line(2, 200, "/apply/confirm")])
    tally = counting.count(counting.parse_lines(counting.split_lines(data)), [objective])
    minute = to_minute(T0)
    assert tally.counts == {
        (objective.series, "/apply", minute): [1, 1],
        (objective.series, "/apply/confirm", minute): [1, 2],
    }
    assert (tally.events, tally.counted) == (3, 3)


def test_epoch_milliseconds_and_nested_fields() -> None:
    text = CHECKOUT_SLO.replace("status < 500", "attributes.http.status < 500")
    [objective] = _objectives(text)
    ms = int(T0.timestamp() * 1000) + 59_999
    line = orjson.dumps({"ts": ms, "service": "jobs-api", "route": "/apply", "attributes": {"http": {"status": 201}}})
    tally = counting.count(counting.parse_lines([line]), [objective])
    assert tally.counts == {(objective.series, "/apply", to_minute(T0)): [1, 1]}


def test_bad_lines_are_all_reported_and_nothing_is_returned() -> None:
    lines = [
        _line(0, 200),
        b"{not json",
        b"[1,2]",
        b'{"ts": "yesterday", "service": "a"}',
        b'{"ts": "2026-11-01T00:00:00", "service": "a"}',
        b'{"ts": 1, "service": ""}',
        b"",
        b'{"service":"a"}',
    ]
    with pytest.raises(InvalidInput) as caught:
        counting.parse_lines(lines, source="events.ndjson")
    rendered = [p.render() for p in caught.value.problems]
    assert rendered[0].startswith("events.ndjson: line 2: invalid JSON")
    assert [p.loc for p in caught.value.problems] == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 8"]
    assert "expected a JSON object" in rendered[1]
    assert "not RFC 3339" in rendered[2] and "no offset" in rendered[3]
    assert "service is required" in rendered[4] and "ts is required" in rendered[5]
    assert caught.value.detail == "6 bad event line(s); nothing was counted"


def test_gzip_is_recognised_and_a_broken_gzip_is_refused() -> None:
    body = _line(0, 200) + b"\n"
    assert counting.decompress(gzip.compress(body)) == body
    with pytest.raises(InvalidInput, match="cannot be decompressed"):
        counting.decompress(b"\x1f\x8b" + b"garbage")


def test_events_in_maintenance_windows_are_left_out_of_the_budget() -> None:
    text = CHECKOUT_SLO.replace(
        'mamori.dev/min-events: "5"',
        'mamori.dev/min-events: "5", mamori.dev/maintenance: "2026-11-01T00:01:00Z/2026-11-01T00:02:00Z"',
    )
    [objective] = _objectives(text)
    data = b"\n".join([_line(30, 500), _line(61, 500), _line(119, 500), _line(120, 200)])
    tally = counting.count(counting.parse_lines(counting.split_lines(data)), [objective])
    assert sorted((k[2] - to_minute(T0), v) for k, v in tally.counts.items()) == [(0, [0, 1]), (2, [1, 1])]
