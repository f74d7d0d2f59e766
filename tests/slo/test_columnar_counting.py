"""The columnar ingest path (typed decoding of only the fields read) counts exactly like judging each event.

Typical batches must take it; anything it cannot vouch for must go the line path, with the same result."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.core.errors import InvalidInput
from mamori.slo import counting, definitions
from mamori.slo.openslo import plain
from tests.slo.test_fast_counting import OBJECTIVES, PLAN

TS = st.sampled_from(
    ["2026-11-28T10:00:01Z", "2026-11-28T10:00:59.5Z", "2026-11-28T10:01:00+00:00", "2026-11-28t10:02:03.123456z"]
)
NUMBER = st.sampled_from(
    [0, 1, 1.0, 2.5, 99, 100, 299.5, 300, 300.5, 301.5, 404, 429, 500, 503, -1, 2**63 - 1, 2**64 - 1]
)
TEXT = st.sampled_from(["", "x", "eu", "us", "/a", "/apply", "/b", "POST", "PUT", "GET", "500", "é", "a\u2028b"])
VALUE = st.one_of(NUMBER, TEXT, st.none(), st.booleans())
# Values the columnar path takes: numbers compared with constants are never true/false, objects or arrays.
TYPED = {
    "status": st.one_of(NUMBER, TEXT, st.none()),
    "route": st.one_of(TEXT, NUMBER, st.none(), st.booleans()),
    "method": st.one_of(TEXT, st.booleans(), NUMBER),
    "cached": VALUE,
    "code": VALUE,
    "region": VALUE,
}


@st.composite
def typical(draw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"ts": draw(TS), "service": draw(st.sampled_from(["api", "web", "other"]))}
    for name, values in TYPED.items():
        if draw(st.integers(0, 4)):
            event[name] = draw(values)
    if draw(st.integers(0, 4)):
        event["t"] = {"ms": draw(st.one_of(NUMBER, TEXT, st.none()))} if draw(st.integers(0, 4)) else {}
    if draw(st.booleans()):
        event["attributes"] = {"plan": draw(VALUE), "other": [1, {"deep": draw(VALUE)}]}
    if draw(st.booleans()):
        event["unread"] = draw(st.one_of(VALUE, st.lists(VALUE), st.dictionaries(st.text(max_size=3), VALUE)))
    return event


def _reference(lines: list[bytes]) -> counting.Tally:
    return counting.count(counting.parse_lines(lines), OBJECTIVES)


@settings(max_examples=300, deadline=None)
@given(st.lists(typical(), min_size=1, max_size=60), st.booleans())
def test_typical_batches_take_the_columnar_path_and_count_like_the_reference(
    batch: list[dict[str, Any]], blank_lines: bool
) -> None:
    lines = [orjson.dumps(e) for e in batch]
    if blank_lines:
        lines = [b"", *lines, b""]
    fast = counting.count_lines(lines, PLAN)
    assert fast.path == "columns"
    slow = _reference(lines)
    assert fast.counts == slow.counts
    assert (fast.events, fast.counted) == (slow.events, slow.counted)


def _line(**fields: Any) -> bytes:
    event = {"ts": "2026-11-28T10:00:01Z", "service": "api", "route": "/a", "status": 200, **fields}
    return json.dumps(event, allow_nan=False).encode()  # not orjson: it cannot write integers beyond 64 bits


@pytest.mark.parametrize(
    ("odd", "why"),
    [
        (_line(status=True), "a boolean where numbers are compared"),
        (_line(status={"code": 500}), "an object where numbers are compared"),
        (_line(route=["/a"]), "an array where a value is read"),
        (_line(status=2**64), "an integer orjson reads as a float"),
        (_line(region=-(2**63) - 1), "an integer orjson reads as a float"),
        (_line(ts=1_795_000_000_000), "epoch milliseconds"),
        (_line(ts="2026-11-28T11:00:01+01:00"), "another offset"),
        (_line(attributes="free"), "a value where an object is read"),
        (_line(t=None), "null where an object is read"),
        (b"  ", "a blank line with spaces"),
    ],
)
def test_what_the_columnar_path_cannot_vouch_for_goes_the_line_path(odd: bytes, why: str) -> None:
    lines = [_line(), odd, _line(status=503)]
    tally = counting.count_lines(lines, PLAN)
    assert tally.path != "columns", why
    assert tally.counts == _reference(lines).counts


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b'{"ts": "2026-11-28T10:00:01Z", "service": "api", "unread": "\xff"}', "invalid JSON"),
        (b'{"ts": "2026-11-28T10:00:01Z", "service": "api", "u\xed\xa0\x80": 1}', "invalid JSON"),
        (b'{"ts": "2026-11-28T10:00:01Z", "service": "api", "unread": "\\ud800"}', "invalid JSON"),
        (b'{"ts": "2026-11-28T10:00:01Z", "service": "api", "unread": [1,]}', "invalid JSON"),
        (b'{"ts": "2026-11-28T10:00:01Z", "service": "api"} trailing', "invalid JSON"),
        (b'{"ts": "2026-11-28T10:00:61Z", "service": "api"}', "not RFC 3339"),
        (b'{"ts": "2026-13-28T10:00:01Z", "service": "api"}', "not RFC 3339"),
        (b'{"ts": "2026-11-28T10:00:01", "service": "api"}', "no offset"),
        (b'{"ts": "2026-11-28T10:00:01Z", "service": ""}', "service is required"),
        (b'{"ts": "2026-11-28T10:00:01Z", "service": "api", "unread": ' + b"[" * 5000 + b"]" * 5000 + b"}", "JSON"),
        (b"[1]", "expected a JSON object"),
    ],
)
def test_a_bad_line_anywhere_refuses_the_batch_naming_it(bad: bytes, message: str) -> None:
    lines = [_line(), _line(), bad, _line()]
    with pytest.raises(InvalidInput) as info:
        counting.count_lines(lines, PLAN, source="e.ndjson")
    assert [p.loc for p in info.value.problems] == ["line 3"]
    assert message in info.value.problems[0].msg


def test_a_number_beyond_the_double_range_in_an_unread_field_counts_on_both_paths() -> None:
    # Valid JSON that orjson refuses: the columnar decoder skips it, and the line path accepts it the same way.
    wide = b'{"ts": "2026-11-28T10:00:01Z", "service": "api", "route": "/a", "status": 200, "unread": 1e999}'
    columns = counting.count_lines([_line(), wide], PLAN)
    assert columns.path == "columns"
    lines = counting.count_lines([_line(), wide, _line(status=True)], PLAN)
    assert lines.path != "columns"
    expected = _reference([_line(), _line(), _line(status=True)])
    assert lines.counts == expected.counts
    assert columns.counts == _reference([_line(), _line()]).counts
    # ...but not where an SLI reads it.
    with pytest.raises(InvalidInput, match="bad event line"):
        counting.count_lines([_line(), wide.replace(b'"unread"', b'"status"')], PLAN)


def test_escaped_and_repeated_keys_read_like_orjson() -> None:
    lines = [
        b'{"\\u0074s": "2026-11-28T10:00:01Z", "service": "api", "route": "/a", "status": 200, "status": 503}',
        b'{"ts": "2026-11-28T10:00:01Z", "servic\\u0065": "web", "region": "us", "status": 404}',
    ]
    tally = counting.count_lines(lines, PLAN)
    assert tally.path == "columns"
    assert tally.counts == _reference(lines).counts
    assert tally.counts[("api-ok#0", "(none)", 29_931_000)] == [0, 1]  # the last status (503) counts


def test_unseen_timestamp_forms_are_checked_once_and_then_known() -> None:
    ts = "2026-11-28T10:07:03.000123Z"
    counting._TAIL_TABLE.pop(ts[16:], None)
    counting._PREFIXES.pop(ts[:16], None)
    tally = counting.count_lines([_line(ts=ts)], PLAN)
    assert tally.path == "columns"
    assert ts[16:] in counting._TAIL_TABLE and counting._PREFIXES[ts[:16]] == 29_931_007


SHAPES = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: both, annotations: {mamori.dev/slice-by: attributes}}
spec:
  service: api
  indicator:
    metadata: {name: both}
    spec:
      ratioMetric:
        good: {metricSource: {type: mamori, spec: {filter: "attributes.plan = 'pro'"}}}
        total: {metricSource: {type: mamori, spec: {filter: "service = 'api'"}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""


def test_a_field_read_both_as_a_value_and_as_an_object_uses_the_line_path() -> None:
    docs = [
        definitions.RawDoc("SLO", raw["metadata"]["name"], raw["metadata"], plain(raw["spec"]))
        for raw in yaml.safe_load_all(SHAPES)
    ]
    objectives = definitions.compile_objectives(docs)
    plan = counting.plan_for(objectives)
    assert plan.columns is None
    lines = [
        orjson.dumps({"ts": "2026-11-28T10:00:01Z", "service": "api", "attributes": {"plan": p}})
        for p in ("pro", "free", "pro")
    ]
    tally = counting.count_lines(lines, plan)
    assert tally.path != "columns"
    assert tally.counts == counting.count(counting.parse_lines(lines), objectives).counts
