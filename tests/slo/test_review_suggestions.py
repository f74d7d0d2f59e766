"""Review suggestions from the budget's course over the period: large headroom, and exhausted again and again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.slo import counting, service
from mamori.slo.evaluate import to_minute
from mamori.slo.service import review
from tests.slo.helpers import CHECKOUT_SLO, write

DAY = 1440


def _seed(runtime: Runtime, tmp_path: Path, bad_per_day: dict[int, int]) -> None:
    """1,000 events a day for 100 days before now; `bad_per_day[d]` of them bad on day d (0 = oldest)."""
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)  # 30-day rolling window, target 99 %
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    today = to_minute(runtime.now()) // DAY * DAY
    tally = counting.Tally()
    for day in range(100):
        bad = bad_per_day.get(day, 1)
        tally.counts[("apply-for-job#0", "/apply", today - (100 - day) * DAY + 600)] = [1000 - bad, 1000]
    with runtime.sessions.begin() as session:
        service.upsert_tally(session, tally)


def test_an_objective_never_at_risk_gets_a_tighter_target_suggested(runtime: Runtime, tmp_path: Path) -> None:
    _seed(runtime, tmp_path, {})  # 0.1 % errors every day: a tenth of a 1 % budget
    now = runtime.now()
    with runtime.sessions() as session:
        [item] = review.review(session, since=now - timedelta(days=60), until=now)
    assert item.worst_window_used is not None and abs(item.worst_window_used - 0.1) < 1e-9
    assert item.exhaustions == 0
    assert item.suggested_target == 0.998  # 0.1 % errors use 50 % of a 0.2 % budget
    [text] = item.suggestions
    assert text.startswith("Never at risk: at most 10% of the budget") and "99.80%" in text


def test_a_budget_exhausted_twice_in_the_period_is_called_out(runtime: Runtime, tmp_path: Path) -> None:
    # 400 bad events (more than the 30-day budget of ~300) on day 20 and again on day 65: the trailing window
    # is exhausted from day 20 until the burst leaves it, recovers, then runs out again.
    _seed(runtime, tmp_path, {20: 400, 65: 400})
    now = runtime.now()
    with runtime.sessions() as session:
        [item] = review.review(session, since=now - timedelta(days=85), until=now)
    assert item.exhaustions == 2
    assert item.worst_window_used is not None and item.worst_window_used > 1
    assert any(s.startswith("Exhausted again and again: the budget ran out 2 times") for s in item.suggestions)
    assert not any(s.startswith("Never at risk") for s in item.suggestions)
    with runtime.sessions() as session:
        [recent] = review.review(session, since=now - timedelta(days=20), until=now)
    assert recent.exhaustions == 1  # the episode under way when the period starts counts once
    assert not any(s.startswith("Exhausted again") for s in recent.suggestions)
