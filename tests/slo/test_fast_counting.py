"""The grouped ingest path (count_lines) counts exactly like judging every event on its own (count)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.core.errors import InvalidInput
from mamori.slo import counting, definitions
from mamori.slo.counting import keys
from mamori.slo.openslo import plain

SLOS = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-ok, annotations: {mamori.dev/slice-by: attributes.plan}}
spec:
  service: api
  indicator:
    metadata: {name: api-ok}
    spec:
      ratioMetric:
        good: {metricSource: {type: mamori, spec: {filter: "status < 500 AND status != 429"}}}
        total: {metricSource: {type: mamori, spec: {filter: "route LIKE '/a%' OR method IN ('POST', 'PUT')"}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-fast}
spec:
  service: api
  indicator:
    metadata: {name: api-fast}
    spec:
      thresholdMetric:
        metricSource: {type: mamori, spec: {filter: "NOT cached = TRUE AND code IN (1, 'x', 2.5)", field: t.ms}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{op: lt, value: 300, target: 0.9}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: web-many, annotations: {mamori.dev/slice-by: region}}
spec:
  service: web
  indicator:
    metadata: {name: web-many}
    spec:
      ratioMetric:
        bad:
          metricSource:
            type: mamori
            spec: {filter: "status >= 500 OR status = 404 OR status < 100 OR status = 301.5"}
        total: {metricSource: {type: mamori, spec: {filter: "region = NULL OR region != 'eu'"}}}
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.95}]
"""

NUMBERS = st.sampled_from([0, 1, 1.0, 2.5, 99, 100, 299.5, 300, 300.5, 301.5, 404, 429, 500, 503, -1, 2**63 - 1])
ODD = st.sampled_from([True, False, None, "1", "500", "", "x", "eu", "us", "/a", "/apply", "POST", "PUT", "GET"])
FIELDS = {
    "status": st.one_of(NUMBERS, NUMBERS, ODD),
    "route": st.sampled_from(["/a", "/apply", "/b", 1, None, True]),
    "method": st.sampled_from(["POST", "PUT", "GET", 1, False]),
    "cached": st.sampled_from([True, False, 1, 0, None, "true"]),
    "code": st.sampled_from([1, 1.0, True, "x", "1", 2.5, 3]),
    "region": st.sampled_from(["eu", "us", None, 1, True, 1.0, ""]),
}


@st.composite
def events(draw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "ts": draw(st.sampled_from(["2026-11-28T10:00:01Z", "2026-11-28T10:00:59.5Z", "2026-11-28T10:01:00+00:00"]))
        if draw(st.booleans())
        else draw(st.integers(1_795_000_000_000, 1_795_000_100_000)),
        "service": draw(st.sampled_from(["api", "web", "other"])),
    }
    for name, values in FIELDS.items():
        if draw(st.integers(0, 4)):
            event[name] = draw(values)
    if draw(st.integers(0, 4)):
        event["t"] = {"ms": draw(st.one_of(NUMBERS, ODD))} if draw(st.integers(0, 4)) else draw(ODD)
    if draw(st.booleans()):
        event["attributes"] = {"plan": draw(FIELDS["region"])} if draw(st.integers(0, 4)) else draw(ODD)
    return event


def _objectives() -> list[definitions.CompiledObjective]:
    docs = [
        definitions.RawDoc("SLO", raw["metadata"]["name"], raw["metadata"], plain(raw["spec"]))
        for raw in yaml.safe_load_all(SLOS)
    ]
    return definitions.compile_objectives(docs)


OBJECTIVES = _objectives()
PLAN = counting.plan_for(OBJECTIVES)


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), max_size=60))
def test_grouped_counting_equals_judging_each_event(batch: list[dict[str, Any]]) -> None:
    lines = [orjson.dumps(e) for e in batch]
    fast = counting.count_lines(lines, PLAN)
    slow = counting.count(counting.parse_lines(lines), OBJECTIVES)
    assert fast.counts == slow.counts
    assert (fast.events, fast.counted) == (slow.events, slow.counted)


def test_nested_objects_where_values_are_expected_are_judged_one_by_one() -> None:
    lines = [
        orjson.dumps({"ts": 1_795_000_000_000, "service": "api", "route": {"a": 1}, "method": "POST", "status": 200}),
        orjson.dumps({"ts": 1_795_000_000_000, "service": "api", "route": "/a", "status": [500]}),
    ]
    assert counting.count_lines(lines, PLAN).counts == counting.count(counting.parse_lines(lines), OBJECTIVES).counts


def test_bad_lines_are_reported_with_their_numbers_and_nothing_is_counted() -> None:
    lines = [
        b'{"ts": "2026-11-28T10:00:00Z", "service": "api"}',
        b"",
        b'{"ts": "2026-11-28T10:00:61Z", "service": "api"}',
        b'{"ts": "2026-11-28T10:00:00Z", "service": ""}',
        b"[1]",
        b'{"ts": "2026-11-28T10:00:00", "service": "api"}',
        b'{"ts": "2026-11-28T10:00:00.1Z", "service": ["api"]}',
        b"{nope",
    ]
    with pytest.raises(InvalidInput) as info:
        counting.count_lines(lines, PLAN, source="e.ndjson")
    assert [p.loc for p in info.value.problems] == ["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"]
    assert all(p.file == "e.ndjson" for p in info.value.problems)


def test_the_key_code_is_generated_from_field_paths_not_filter_text() -> None:
    source = keys.scanner_source(PLAN.paths)
    assert "LIKE" not in source and "'/a%'" not in source and "POST" not in source
    assert "e.get('route', M)" in source


def test_equal_values_of_different_types_are_not_grouped_together() -> None:
    # True == 1 == 1.0 in Python, but a filter tells them apart, and a slice label shows them differently.
    base = {"ts": "2026-11-28T10:00:01Z", "code": 1, "t": {"ms": 10}}
    lines = [
        orjson.dumps({**base, "service": "api", "cached": value, "attributes": {"plan": value}})
        for value in (True, 1, 1.0, True)
    ] + [orjson.dumps({**base, "service": "web", "region": value, "status": 200}) for value in (True, 1, 1.0)]
    fast = counting.count_lines(lines, PLAN)
    assert fast.counts == counting.count(counting.parse_lines(lines), OBJECTIVES).counts
    assert {k[1] for k in fast.counts if k[0] == "web-many#0"} == {"True", "1", "1.0"}
