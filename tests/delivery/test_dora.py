"""DORA's five from deploys, incidents and changes, with the 2023 bands (the pure module)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mamori.delivery import changesets, dora

T = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
D = timedelta(days=1)


def _deploys(n: int, every: timedelta = D) -> list[dora.Deploy]:
    return [dora.Deploy(id=f"d{i}", finished_at=T + i * every) for i in range(n)]


def test_an_incident_fails_the_latest_deploy_before_it_and_recovery_runs_to_its_resolution() -> None:
    deploys = _deploys(10)
    incident = dora.Incident(id="i1", declared_at=T + 3 * D + 2 * H, resolved_at=T + 3 * D + 5 * H)
    result = dora.compute(deploys=deploys, incidents=[incident], changes=[], start=T, end=T + 30 * D)
    assert result.failed_ids == ["d3"]
    assert result.change_fail_rate == 0.1
    assert result.recovery_time_s == 5 * 3600
    assert result.bands()["change_fail_rate"] == "high"
    assert result.bands()["recovery_time"] == "high"


def test_a_rollback_fails_the_deploy_before_it_and_is_itself_unplanned() -> None:
    deploys = [
        *_deploys(3),
        dora.Deploy(id="rb", finished_at=T + 2 * D + 40 * 60 * timedelta(seconds=1), rollback=True),
    ]
    result = dora.compute(deploys=deploys, incidents=[], changes=[], start=T, end=T + 7 * D)
    assert result.failed_ids == ["d2"]
    assert result.unplanned_ids == ["rb"]
    assert result.recovery_time_s == 40 * 60
    assert result.bands()["recovery_time"] == "elite"
    assert result.rework_rate == 0.25


def test_rules_switch_each_failure_signal_off() -> None:
    deploys = [*_deploys(2), dora.Deploy(id="hf", finished_at=T + 2 * D, hotfix=True)]
    incident = dora.Incident(id="i", declared_at=T + H, resolved_at=T + 2 * H)
    rules = dora.Rules(incidents_fail_deploys=False, hotfixes_fail_deploys=False)
    result = dora.compute(deploys=deploys, incidents=[incident], changes=[], start=T, end=T + 7 * D, rules=rules)
    assert result.failed == 0
    windowed = dora.Rules(attribution_window=timedelta(minutes=30))
    assert dora.compute(
        deploys=deploys, incidents=[incident], changes=[], start=T, end=T + 7 * D, rules=windowed
    ).failed_ids == ["d1"]


def test_a_deploy_during_an_open_incident_is_unplanned() -> None:
    deploys = _deploys(4, every=H)
    incident = dora.Incident(
        id="i", declared_at=T + 30 * timedelta(minutes=1), resolved_at=T + 2 * H + timedelta(minutes=1)
    )
    result = dora.compute(deploys=deploys, incidents=[incident], changes=[], start=T, end=T + D)
    assert result.unplanned_ids == ["d1", "d2"]
    assert result.recovery_time_s is not None


def test_lead_time_is_the_lower_median_over_changes_and_bands_as_dora_2023() -> None:
    deploys = _deploys(2)
    changes = [
        dora.Change("d0", T - 2 * H),
        dora.Change("d0", T - 10 * H),
        dora.Change("d1", T + D - 30 * H),
        dora.Change("d1", T),
    ]
    result = dora.compute(deploys=deploys, incidents=[], changes=changes, start=T, end=T + 7 * D)
    assert result.changes == 4
    assert result.lead_time_s == 10 * 3600  # sorted 2h, 10h, 24h, 30h: DevLake's median is the lower middle
    assert result.bands()["lead_time"] == "elite"
    assert dora.lead_time_band(8 * 86400) == "medium"
    assert dora.lead_time_band(40 * 86400) == "low"


def test_deployment_frequency_bands_follow_deploy_days_per_week_then_month() -> None:
    daily = dora.compute(deploys=_deploys(28), incidents=[], changes=[], start=T, end=T + 28 * D)
    assert daily.per_week_median == 7 and daily.bands()["deployment_frequency"] == "elite"
    weekly = dora.compute(deploys=_deploys(4, every=7 * D), incidents=[], changes=[], start=T, end=T + 28 * D)
    assert weekly.per_week_median == 1 and weekly.bands()["deployment_frequency"] == "high"
    monthly = dora.compute(deploys=_deploys(3, every=30 * D), incidents=[], changes=[], start=T, end=T + 90 * D)
    assert monthly.bands()["deployment_frequency"] == "medium"
    none = dora.compute(deploys=[], incidents=[], changes=[], start=T, end=T + 28 * D)
    assert none.change_fail_rate is None and none.bands()["deployment_frequency"] is None


def test_fail_rate_bands_are_inclusive_at_their_limits() -> None:
    assert [dora.fail_rate_band(x) for x in (0.05, 0.051, 0.10, 0.15, 0.16)] == [
        "elite",
        "high",
        "high",
        "medium",
        "low",
    ]


def test_the_commit_walk_gives_nothing_rather_than_a_wrong_history() -> None:
    parents: dict[str, str | None] = {"c3": "c2", "c2": "c1", "c1": None}
    assert changesets.walk_chain(parents, "c1", "c3") == ["c3", "c2"]
    assert changesets.walk_chain(parents, "zz", "c3") == []
    assert changesets.walk_chain({"a": "b", "b": "a"}, "x", "a") == []
    depths = changesets.chain_depths(parents)
    for old, new in [("c1", "c3"), ("zz", "c3"), ("c3", "c1"), ("c2", "c2")]:
        assert changesets.walk_chain(parents, old, new, depths=depths) == changesets.walk_chain(parents, old, new)
    assert changesets.chain_depths({"a": "b", "b": "a", "c": "a"})["c"] > 0, "a cycle ends, it does not hang"
