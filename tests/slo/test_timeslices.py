"""Timeslices and RatioTimeslices budgeting over per-minute buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from mamori.slo import counting, definitions
from mamori.slo.evaluate import MemoryStore, evaluate, to_minute
from mamori.slo.openslo import plain

AT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _objective(method: str) -> definitions.CompiledObjective:
    raw = yaml.safe_load(f"""
metadata: {{name: avail}}
spec:
  service: web
  indicator:
    metadata: {{name: ok}}
    spec:
      ratioMetric:
        good: {{metricSource: {{type: mamori, spec: {{filter: "status < 500"}}}}}}
        total: {{metricSource: {{type: mamori}}}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: {method}
  objectives: [{{target: 0.5, timeSliceTarget: 0.9, timeSliceWindow: 1m}}]
""")
    [objective] = definitions.compile_objectives(
        [definitions.RawDoc("SLO", "avail", raw["metadata"], plain(raw["spec"]))]
    )
    return objective


def _store(objective: definitions.CompiledObjective) -> MemoryStore:
    tally = counting.Tally()
    start = to_minute(AT)
    # minute -3: 10/10 good; minute -2: 8/10; minute -1: 1/1 good
    for offset, good, total in ((-3, 10, 10), (-2, 8, 10), (-1, 1, 1)):
        tally.counts[(objective.series, "", start + offset)] = [good, total]
    return MemoryStore(tally)


def test_timeslices_count_minutes_meeting_the_slice_target() -> None:
    objective = _objective("Timeslices")
    result = evaluate(objective, _store(objective), AT)
    assert (result["good"], result["total"]) == (2, 3)
    assert result["sli"] == pytest.approx(2 / 3)
    assert result["error_budget"]["consumed"] == pytest.approx((1 / 3) / 0.5)
    assert result["burn_rates"]["5m"] == pytest.approx((1 / 3) / 0.5)


def test_ratio_timeslices_average_the_slice_ratios() -> None:
    objective = _objective("RatioTimeslices")
    result = evaluate(objective, _store(objective), AT)
    assert result["sli"] == pytest.approx((1 + 0.8 + 1) / 3)
    assert (result["good"], result["total"]) == (19, 21)
    assert result["error_budget"]["remaining"] == pytest.approx(1 - (0.2 / 3) / 0.5)
    assert evaluate(objective, _store(objective), AT + timedelta(days=2))["sli"] is None


def test_ratio_timeslices_alerts_burn_like_the_budget_not_like_raw_events() -> None:
    # An hour of quiet perfect minutes and one busy minute at 50 % errors. By raw events the last hour burns
    # at (500 / 1059) / 0.5 ~ 0.94 and 5 minutes at ~1.0, over the 1h/5m page threshold (0.02 x 1d / 1h = 0.48).
    # The budget counts slices: that minute is 1 of 60, so the hour burns at (0.5 / 60) / 0.5 and nothing fires.
    objective = _objective("RatioTimeslices")
    tally = counting.Tally()
    start = to_minute(AT)
    for offset in range(1, 61):
        tally.counts[(objective.series, "", start - offset)] = [1, 1]
    tally.counts[(objective.series, "", start - 3)] = [500, 1000]
    result = evaluate(objective, MemoryStore(tally), AT)
    assert result["burn_rates"]["1h"] == pytest.approx((0.5 / 60) / 0.5)
    assert result["burn_rates"]["5m"] == pytest.approx((0.5 / 5) / 0.5)
    assert result["alerts"] == []


def test_ratio_timeslices_alerts_fire_when_every_slice_burns() -> None:
    objective = _objective("RatioTimeslices")
    tally = counting.Tally()
    start = to_minute(AT)
    for offset in range(1, 361):
        tally.counts[(objective.series, "", start - offset)] = [1, 2]
    result = evaluate(objective, MemoryStore(tally), AT)
    assert result["burn_rates"]["1h"] == pytest.approx(1.0)
    assert {(a["severity"], a["long_window"]) for a in result["alerts"]} >= {("page", "1h"), ("page", "6h")}
