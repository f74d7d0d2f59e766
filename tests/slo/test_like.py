"""LIKE in SLO filters: the same answers as SQLite's own LIKE on generated cases, and no backtracking."""

from __future__ import annotations

import random
import sqlite3

import pytest

from mamori.slo.filter import compile_filter
from mamori.slo.filter.like import MAX_VALUE, LikePattern


def _sqlite_like(db: sqlite3.Connection, value: str, pattern: str) -> bool:
    return bool(db.execute("SELECT ? LIKE ? ESCAPE '\\'", (value, pattern)).fetchone()[0])


def test_like_agrees_with_sqlite_on_generated_patterns_and_values() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA case_sensitive_like = ON")  # SLO filters compare case-sensitively
    rng = random.Random(20261207)
    alphabet = "ab/._"
    for _ in range(4000):
        pattern = "".join(rng.choice("ab/%_%") for _ in range(rng.randint(0, 7)))
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
        expected = _sqlite_like(db, value, pattern)  # a value's % and _ are plain text; only the pattern's match
        assert bool(LikePattern(pattern).fullmatch(value)) is expected, (pattern, value)


def test_a_pattern_with_many_percent_signs_on_a_long_field_does_not_backtrack() -> None:
    pattern = "%a%a%a%a%a%a%a%a%b"
    value = "a" * 20_000
    like = LikePattern(pattern)
    # the regex translation (`.*a.*a...b`) needs hours here (this test would hang); the segment scan is a
    # few str.find calls, and no segment it compiles can repeat.
    assert like.fullmatch(value) is None
    regexes = [seg.pattern for seg, _ in like._parts if not isinstance(seg, str)]
    assert all("*" not in r and "+" not in r and "{" not in r for r in regexes)
    assert LikePattern("%a_b%").fullmatch("x" * 5000 + "a.b" + "y") is True


def test_values_longer_than_the_cap_never_match() -> None:
    assert LikePattern("%").fullmatch("x" * MAX_VALUE)
    assert LikePattern("%").fullmatch("x" * (MAX_VALUE + 1)) is None


def test_like_through_the_filter_language() -> None:
    match = compile_filter("route LIKE '/api/%/jobs/_'")
    assert match({"route": "/api/v1/jobs/7"}) and not match({"route": "/api/v1/jobs/77"})
    assert compile_filter("route NOT LIKE '%health%'")({"route": "/api"})


@pytest.mark.timeout(30)
def test_an_slo_filter_with_many_percent_signs_does_not_stall_on_a_long_field() -> None:
    match = compile_filter("route LIKE '%a%a%a%a%a%a%a%a%b'")
    assert not match({"route": "a" * 20_000})
