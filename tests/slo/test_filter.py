"""The filter language over events: operators, precedence, nested fields, and errors with positions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.slo.filter import FilterError, compile_filter, fields, parse

EVENT = {
    "route": "/api/jobs/42",
    "status": 503,
    "method": "POST",
    "duration_ms": 812.5,
    "attributes": {"plan": "pro", "region": "eu"},
    "ok": False,
    "user": None,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status = 503", True),
        ("status != 503", False),
        ("status >= 500 AND status < 600", True),
        ("duration_ms > 800", True),
        ("duration_ms <= 800", False),
        ("method IN ('GET', 'HEAD')", False),
        ("method NOT IN ('GET', 'HEAD')", True),
        ("route LIKE '/api/%'", True),
        ("route LIKE '/api/jobs/_'", False),
        ("route NOT LIKE '/health%'", True),
        ("attributes.plan = 'pro'", True),
        ("attributes.missing.deeper = 'x'", False),
        ("missing = 1", False),
        ("missing != 1", True),
        ("NOT status = 503", False),
        ("status = 200 OR status = 503 AND method = 'GET'", False),
        ("(status = 200 OR status = 503) AND method = 'POST'", True),
        ("ok = false", True),
        ("user = NULL", True),
        ("route = 503", False),
        ("status = '503'", False),
        ("status IN (500, 502, 503)", True),
        ("attributes.region = 'it''s'", False),
        ("status and status", None),
    ],
)
def test_filter_semantics(text: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(FilterError):
            compile_filter(text)
        return
    assert compile_filter(text)(EVENT) is expected


def test_keywords_are_case_insensitive_and_and_binds_tighter_than_or() -> None:
    assert compile_filter("status = 200 or status = 503 and method = 'POST'")(EVENT) is True
    assert compile_filter("status = 200 or status = 503 and method = 'GET'")(EVENT) is False


def test_numbers_sent_as_strings_compare_as_numbers() -> None:
    assert compile_filter("status >= 500")({"status": "503"}) is True
    assert compile_filter("status >= 500")({"status": "abc"}) is False


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("status >", 9, "expected a value, found end of filter"),
        ('status = "x"', 10, "double quotes"),
        ("route = 'open", 9, "unterminated string"),
        ("(status = 1", 12, "expected ')'"),
        ("status = 1 status = 2", 12, "expected AND, OR"),
        ("route = api", 9, "quote strings with single quotes"),
        ("status ~ 1", 8, "unexpected character"),
        ("", 1, "empty"),
        ("method IN ('a' 'b')", 16, "',' or ')'"),
        ("status NOT = 1", 12, "expected IN or LIKE after NOT"),
    ],
)
def test_errors_name_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse(text)
    assert caught.value.position == position
    assert words in str(caught.value)


def test_fields_lists_dotted_names() -> None:
    assert fields(parse("a = 1 AND NOT (b.c IN (1) OR d LIKE 'x')")) == {"a", "b.c", "d"}


@given(st.integers(min_value=-10_000, max_value=10_000), st.integers(min_value=-10_000, max_value=10_000))
def test_comparisons_agree_with_python(a: int, b: int) -> None:
    event = {"x": a}
    assert compile_filter(f"x < {b}")(event) is (a < b)
    assert compile_filter(f"x >= {b}")(event) is (a >= b)
    assert compile_filter(f"NOT x = {b}")(event) is (a != b)


@given(st.text(alphabet="ab%_", max_size=6), st.text(alphabet="ab", max_size=6))
def test_like_agrees_with_a_reference_matcher(pattern: str, value: str) -> None:
    def ref(p: str, v: str) -> bool:
        if not p:
            return not v
        if p[0] == "%":
            return any(ref(p[1:], v[i:]) for i in range(len(v) + 1))
        return bool(v) and (p[0] == "_" or p[0] == v[0]) and ref(p[1:], v[1:])

    assert compile_filter(f"s LIKE '{pattern}'")({"s": value}) is ref(pattern, value)
