"""The two fast ingest tiers count exactly like judging each event on its own.

"native" is the compiled scanner (`_scan.c`); "columns" is msgspec typed decoding of only the fields read plus
whole-column operations (used when the scanner is not compiled, or leaves a batch to it). Typical batches must
take them; anything they cannot vouch for must go a slower path, with the same result or the same errors."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.core.errors import InvalidInput
from mamori.slo import counting, definitions
from mamori.slo.counting import batches, columns, keys
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


def _native_plan() -> counting.CountPlan:
    if columns._scan is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mamori.slo._scan is not compiled; `make install` builds it")
        pytest.skip("mamori.slo._scan is not compiled")
    assert PLAN.columns is not None and PLAN.columns.native is not None
    return PLAN


def _columns_plan() -> counting.CountPlan:
    assert PLAN.columns is not None
    return dataclasses.replace(PLAN, columns=dataclasses.replace(PLAN.columns, native=None))


TIERS = {"native": _native_plan, "columns": _columns_plan}


@pytest.mark.parametrize("tier", TIERS)
@settings(max_examples=200, deadline=None)
@given(batch=st.lists(typical(), min_size=1, max_size=60), blank_lines=st.booleans())
def test_typical_batches_take_the_fast_tiers_and_count_like_the_reference(
    tier: str, batch: list[dict[str, Any]], blank_lines: bool
) -> None:
    plan = TIERS[tier]()
    lines = [orjson.dumps(e) for e in batch]
    if blank_lines:
        lines = [b"", *lines, b""]
    fast = counting.count_lines(lines, plan)
    assert fast.path == tier
    slow = _reference(lines)
    assert fast.counts == slow.counts
    assert (fast.events, fast.counted) == (slow.events, slow.counted)


def _line(**fields: Any) -> bytes:
    event = {"ts": "2026-11-28T10:00:01Z", "service": "api", "route": "/a", "status": 200, **fields}
    return json.dumps(event, allow_nan=False).encode()  # not orjson: it cannot write integers beyond 64 bits


ODD_FOR_BOTH = [
    (_line(status={"code": 500}), "an object where numbers are compared"),
    (_line(route=["/a"]), "an array where a value is read"),
    (_line(status=2**64), "an integer orjson reads as a float"),
    (_line(region=-(2**63) - 1), "an integer orjson reads as a float"),
    (_line(ts=1_795_000_000_000), "epoch milliseconds"),
    (_line(ts="2026-11-28T11:00:01+01:00"), "another offset"),
    (_line(attributes="free"), "a value where an object is read"),
    (_line(t=None), "null where an object is read"),
    (b"  ", "a blank line with spaces"),
]
ODD_FOR_COLUMNS = [(_line(status=True), "a boolean where numbers are compared")]
ODD_FOR_NATIVE = [
    (_line().replace(b"10:00:01Z", b"10:00:0\\u0031Z"), "an escaped timestamp"),
    (_line(unread=1e100), "an exponent of three digits"),
    (_line(unread=[[[]]]).replace(b"[[[]]]", b"[" * 600 + b"]" * 600), "deeper than the scanner goes"),
]


@pytest.mark.parametrize(
    ("tier", "odd", "why"),
    [("native", odd, why) for odd, why in ODD_FOR_BOTH + ODD_FOR_NATIVE]
    + [("columns", odd, why) for odd, why in ODD_FOR_BOTH + ODD_FOR_COLUMNS],
)
def test_what_a_fast_tier_cannot_vouch_for_goes_a_slower_way(tier: str, odd: bytes, why: str) -> None:
    plan = TIERS[tier]()
    lines = [_line(), odd, _line(status=503)]
    tally = counting.count_lines(lines, plan)
    assert tally.path not in ("native", tier), why
    assert tally.counts == _reference(lines).counts


@pytest.mark.parametrize(
    "line",
    [
        _line(status=True),
        _line(status=2**63 - 1, region=-(2**63), code=2**64 - 1, cached=9007199254740993),
        _line(route='caf\u00e9 \U0001f600 "q" \\ / \b\f\n\r\t', method="\u2028"),  # escaped by json.dumps
        b'{"ts": "2026-11-28T10:00:01Z", "service": "api", "t": {"ms": 1}, "t": {"other": 2}, "status": 1.5e2}',
        b'{"ts": "2026-11-28T10:00:01Z", "service": "api", "region": -0, "code": -0.0, "cached": 1E+2}',
        _line(unread={"deep": [{"x": [1, 2, {"y": None}]}]}, route=None, method=False),
    ],
)
def test_the_scanner_reads_what_the_columns_leave_to_the_line_path(line: bytes) -> None:
    plan = _native_plan()
    lines = [_line(), line]
    tally = counting.count_lines(lines, plan)
    assert tally.path == "native"
    assert tally.counts == _reference(lines).counts
    assert (tally.events, tally.counted) == (_reference(lines).events, _reference(lines).counted)


MUTATION = st.sampled_from(
    [
        *(b'"', b"\\", b"\\u", b"\\ud800", b"{", b"}", b"[", b"]", b",", b":", b" ", b"\t", b"\r", b"0", b"1", b"e"),
        *(b"E", b"+", b"-", b".", b"n", b"t", b"f", b"\xc3", b"\xa9", b"\xed\xa0\x80", b"\xff", b"\x00", b"\x1f"),
        *(b"\xf4\x90\x80\x80", b"\xe2\x82\xac", b"\xc0\xaf", b"1e999", b"99999999999999999999", b"Z", b"T"),
    ]
)


@st.composite
def mutated(draw: Any) -> bytes:
    line = orjson.dumps(draw(typical()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(line)))
        cut = draw(st.integers(0, 2))
        line = line[:at] + draw(MUTATION) + line[at + cut :]
    return line


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(mutated(), typical().map(orjson.dumps)), min_size=1, max_size=4))
def test_the_scanner_never_accepts_what_the_line_path_refuses(lines: list[bytes]) -> None:
    scanner = _native_plan().columns.native  # type: ignore[union-attr]
    pairs = scanner.count(lines)
    try:
        expected = counting.count_lines(lines, _columns_plan())
    except InvalidInput:
        assert pairs is None
        return
    if pairs is not None:
        mine = batches.tally_keys(PLAN, dict(_merged(pairs)), [], path="native")
        assert mine.counts == expected.counts


def _merged(pairs: list[tuple[tuple[Any, ...], int]]) -> dict[tuple[Any, ...], int]:
    out: dict[tuple[Any, ...], int] = {}
    for key, n in pairs:
        out[key] = out.get(key, 0) + n
    return out


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
@pytest.mark.parametrize("tier", TIERS)
def test_a_bad_line_anywhere_refuses_the_batch_naming_it(tier: str, bad: bytes, message: str) -> None:
    lines = [_line(), _line(), bad, _line()]
    with pytest.raises(InvalidInput) as info:
        counting.count_lines(lines, TIERS[tier](), source="e.ndjson")
    assert [p.loc for p in info.value.problems] == ["line 3"]
    assert message in info.value.problems[0].msg


def test_a_number_beyond_the_double_range_in_an_unread_field_counts_on_both_paths() -> None:
    # Valid JSON that orjson refuses: the columnar decoder skips it, and the line path accepts it the same way.
    wide = b'{"ts": "2026-11-28T10:00:01Z", "service": "api", "route": "/a", "status": 200, "unread": 1e999}'
    columns = counting.count_lines([_line(), wide], PLAN)
    assert columns.path == "columns"  # the scanner leaves it to the columns
    lines = counting.count_lines([_line(), wide, _line(status=True)], _columns_plan())
    assert lines.path != "columns"
    expected = _reference([_line(), _line(), _line(status=True)])
    assert lines.counts == expected.counts
    assert columns.counts == _reference([_line(), _line()]).counts
    # ...but not where an SLI reads it.
    with pytest.raises(InvalidInput, match="bad event line"):
        counting.count_lines([_line(), wide.replace(b'"unread"', b'"status"')], PLAN)


@pytest.mark.parametrize("tier", TIERS)
def test_escaped_and_repeated_keys_read_like_orjson(tier: str) -> None:
    lines = [
        b'{"\\u0074s": "2026-11-28T10:00:01Z", "service": "api", "route": "/a", "status": 200, "status": 503}',
        b'{"ts": "2026-11-28T10:00:01Z", "servic\\u0065": "web", "region": "us", "status": 404}',
    ]
    tally = counting.count_lines(lines, TIERS[tier]())
    assert tally.path == tier
    assert tally.counts == _reference(lines).counts
    assert tally.counts[("api-ok#0", "(none)", 29_931_000)] == [0, 1]  # the last status (503) counts


@pytest.mark.parametrize("tier", TIERS)
def test_unseen_timestamp_forms_are_checked_once_and_then_known(tier: str) -> None:
    ts = "2026-11-28T10:07:03.000123Z"
    plan = TIERS[tier]()
    plan.stamps.tail_table.pop(ts[16:], None)
    plan.stamps.prefixes.pop(ts[:16], None)
    tally = counting.count_lines([_line(ts=ts)], plan)
    assert tally.path == tier
    if tier == "native":
        assert plan.stamps.prefixes[ts[:16]] == 29_931_007
        return
    assert ts[16:] in plan.stamps.tail_table and plan.stamps.prefixes[ts[:16]] == 29_931_007


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


BIG = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 2**63, -(2**63), 2**64 - 1, 2**64 - 2048]),
    st.integers(-1000, 1000),
)
CONSTANT = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([2.0**53, 2.0**63, -(2.0**63), 2.0**64, 1.5, -0.0, 1e300]),
    st.integers(-(2**53), 2**53),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(BIG, st.floats(allow_nan=False, allow_infinity=False)), min_size=1, max_size=8), st.data())
def test_the_scanner_orders_numbers_among_constants_exactly_as_python(values: list[int | float], data: Any) -> None:
    _native_plan()
    consts = tuple(sorted(set(data.draw(st.lists(CONSTANT, min_size=1, max_size=6)))))
    assert columns._scan is not None
    scanner = columns._scan.Scanner([(("n",), columns._scan.KIND_NUMBER, consts)], keys.MISSING_FIELD)
    lines = [json.dumps({"ts": "2026-11-28T10:00:01Z", "service": "s", "n": v}).encode() for v in values]
    pairs = scanner.count(lines)
    if pairs is None:  # only a float with a three-digit exponent is left to the slower paths
        assert any(isinstance(v, float) and "e" in repr(v) and abs(int(repr(v).split("e")[1])) >= 100 for v in values)
        return
    expected: dict[Any, int] = {}
    for v in values:
        key = ("s", "2026-11-28T10:00", columns.reduced(consts, v))
        expected[key] = expected.get(key, 0) + 1
    assert _merged(pairs) == expected


def test_a_scanner_refuses_bad_set_ups_and_cannot_count_without_one() -> None:
    _native_plan()
    assert columns._scan is not None
    scan = columns._scan
    with pytest.raises(ValueError, match="both as a value and as an object"):
        scan.Scanner([(("a",), scan.KIND_TEXT, ()), (("a", "b"), scan.KIND_TEXT, ())], None)
    with pytest.raises(ValueError, match="beyond 2\\*\\*53"):
        scan.Scanner([(("n",), scan.KIND_NUMBER, (2**60,))], None)
    with pytest.raises(ValueError, match="sorted"):
        scan.Scanner([(("n",), scan.KIND_NUMBER, (2, 1))], None)
    with pytest.raises(RuntimeError, match="__init__"):
        scan.Scanner.__new__(scan.Scanner).count([b"{}"])
    with pytest.raises(TypeError, match="list of bytes"):
        scan.Scanner([], None).count(["not bytes"])  # type: ignore[list-item]
    ok = scan.Scanner([(("service",), scan.KIND_TEXT, ())], None)
    assert ok.count([b'{"ts": "2026-11-28T10:00:01Z", "service": "a"}']) == [(("a", "2026-11-28T10:00", "a"), 1)]
