"""Every figure the delivery domain computes, as named samples with labels: what the Prometheus exposition
and the Datadog series are both made from (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mamori.delivery.figures import ServiceMeasures

PREFIX = "mamori_delivery_"


@dataclass(frozen=True)
class Sample:
    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    help: str = ""
    kind: str = "gauge"


@dataclass(frozen=True)
class StepFigure:
    job: str
    step: str
    median_s: float | None
    cache_hit_ratio: float | None


@dataclass(frozen=True)
class TestFigures:
    pass_rate: float | None
    flaky: int
    suite_median_s: float | None
    line_coverage: float | None


DORA_HELP = {
    "deployments": "Successful production deploys in the window",
    "deploy_days_per_week": "Median deploy days per calendar week in the window",
    "lead_time_seconds": "Median change lead time (commit to running in production)",
    "change_fail_ratio": "Failed deploys / successful production deploys",
    "recovery_time_seconds": "Median failed-deployment recovery time",
    "rework_ratio": "Unplanned deploys / successful production deploys",
    "pr_cycle_seconds": "Median pull request cycle time (first commit or opening to deploy or merge)",
}


def _opt(name: str, value: float | None, labels: dict[str, str], kind: str = "gauge") -> list[Sample]:
    return [] if value is None else [Sample(PREFIX + name, float(value), labels, DORA_HELP.get(name, ""), kind)]


def service_samples(
    m: ServiceMeasures,
    *,
    team: str | None,
    steps: Iterable[StepFigure] = (),
    tests: TestFigures | None = None,
) -> list[Sample]:
    base = {"service": m.service, **({"team": team} if team else {})}
    d = m.dora
    out = [
        *_opt("deployments", d.deploys, base),
        *_opt("deploy_days_per_week", d.per_week_median, base),
        *_opt("lead_time_seconds", d.lead_time_s, base),
        *_opt("change_fail_ratio", d.change_fail_rate, base),
        *_opt("recovery_time_seconds", d.recovery_time_s, base),
        *_opt("rework_ratio", d.rework_rate, base),
        *_opt("pr_cycle_seconds", m.pull_requests.cycle_s, base),
    ]
    for measure, band in d.bands().items():
        if band is not None:
            out.append(
                Sample(
                    PREFIX + "dora_band",
                    1.0,
                    {**base, "measure": measure, "band": band},
                    "DORA 2023 band of a measure (1 = current)",
                )
            )
    for s in steps:
        labels = {**base, "job": s.job, "step": s.step}
        out += [
            *(
                []
                if s.median_s is None
                else [Sample(PREFIX + "step_duration_seconds", s.median_s, labels, "Median build step duration")]
            ),
            *(
                []
                if s.cache_hit_ratio is None
                else [
                    Sample(
                        PREFIX + "step_cache_hit_ratio",
                        s.cache_hit_ratio,
                        labels,
                        "Share of step runs that hit the cache",
                    )
                ]
            ),
        ]
    if tests is not None:
        out += [
            *(
                []
                if tests.pass_rate is None
                else [
                    Sample(PREFIX + "test_pass_ratio", tests.pass_rate, base, "Passed test runs / test runs that ran")
                ]
            ),
            Sample(PREFIX + "flaky_tests", float(tests.flaky), base, "Tests that passed and failed on one commit"),
            *(
                []
                if tests.suite_median_s is None
                else [Sample(PREFIX + "test_suite_seconds", tests.suite_median_s, base, "Median test report duration")]
            ),
            *(
                []
                if tests.line_coverage is None
                else [Sample(PREFIX + "line_coverage_ratio", tests.line_coverage, base, "Latest line coverage")]
            ),
        ]
    return out
