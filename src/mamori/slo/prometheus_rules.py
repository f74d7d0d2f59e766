"""Prometheus recording and alerting rules for Prometheus-sourced SLOs, equivalent to Sloth's. No I/O.

The rules use Sloth's metric and label names (`slo:sli_error:ratio_rate<w>`, `sloth_id`, `sloth_service`,
`sloth_slo`, `sloth_window`) so that dashboards built for Sloth keep working. Queries write the
window as `{{.window}}`, as in Sloth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import Any

import yaml

from mamori.core.duration import format_duration
from mamori.slo.budget import BURN_WINDOWS, BurnRule
from mamori.slo.definitions import CompiledObjective, RawDoc
from mamori.slo.openslo import SLISpec, SLOSpec

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
PROMETHEUS = "prometheus"


@dataclass(frozen=True)
class RatioQueries:
    error: str | None  # the error query (bad) if given
    good: str | None
    total: str


def queries(sli: SLISpec, source_type: str | None) -> RatioQueries | None:
    """The PromQL of a Prometheus ratio SLI, or None when it is not one."""
    ratio = sli.ratio_metric
    if ratio is None or ratio.total is None or (source_type or "").lower() != PROMETHEUS:
        return None

    def query(metric: Any) -> str | None:
        return str(metric.metric_source.spec.get("query")) if metric is not None else None

    total = query(ratio.total)
    assert total is not None
    return RatioQueries(error=query(ratio.bad), good=query(ratio.good), total=total)


def _at(query: str, window: str) -> str:
    return _WINDOW.sub(window, query).strip()


def error_ratio_expr(q: RatioQueries, window: str) -> str:
    if q.error is not None:
        return f"({_at(q.error, window)})\n/\n({_at(q.total, window)})\n"
    assert q.good is not None
    return f"(\n  1 - (\n    ({_at(q.good, window)})\n    /\n    ({_at(q.total, window)})\n  )\n)\n"


def _selector(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{labels[k]}"' for k in ("sloth_id", "sloth_service", "sloth_slo")) + "}"


def _budget(target: float) -> str:
    return repr(float(1 - Fraction(str(target))))


def _alert_expr(rules: list[BurnRule], selector: str, budget: str) -> str:
    parts = []
    for rule in rules:
        short, long = format_duration(rule.short_window), format_duration(rule.long_window)
        factor = f"{rule.threshold:g}" if rule.threshold == round(rule.threshold, 6) else repr(rule.threshold)
        parts.append(
            "(\n"
            f"    max(slo:sli_error:ratio_rate{short}{selector} > ({factor} * {budget})) without (sloth_window)\n"
            "    and\n"
            f"    max(slo:sli_error:ratio_rate{long}{selector} > ({factor} * {budget})) without (sloth_window)\n"
            ")"
        )
    return "\nor\n".join(parts) + "\n"


def objective_groups(objective: CompiledObjective, q: RatioQueries) -> list[dict[str, Any]]:
    """Three rule groups per objective, as Sloth makes: SLI recordings, meta recordings, alerts."""
    slo_name = objective.slo if objective.index == 0 else f"{objective.slo}-{objective.index}"
    sid = f"{objective.service}-{slo_name}"
    base = {"sloth_id": sid, "sloth_service": objective.service, "sloth_slo": slo_name}
    selector = _selector(base)
    days = objective.window.period / timedelta(days=1)
    period = (
        objective.window.duration
        if objective.window.rolling and objective.window.duration[-1] in "mhdw"
        else (f"{days:g}d")
    )
    windows = sorted(
        {*BURN_WINDOWS.values(), *(r.short_window for r in objective.rules), *(r.long_window for r in objective.rules)}
    )
    recordings: list[dict[str, Any]] = [
        {
            "record": f"slo:sli_error:ratio_rate{format_duration(w)}",
            "expr": error_ratio_expr(q, format_duration(w)),
            "labels": {**base, "sloth_window": format_duration(w)},
        }
        for w in windows
    ]
    recordings.append(
        {
            "record": f"slo:sli_error:ratio_rate{period}",
            "expr": f"sum_over_time(slo:sli_error:ratio_rate5m{selector}[{period}])\n/ ignoring (sloth_window)\n"
            f"count_over_time(slo:sli_error:ratio_rate5m{selector}[{period}])\n",
            "labels": {**base, "sloth_window": period},
        }
    )
    budget = _budget(objective.target)
    meta = [
        {"record": "slo:objective:ratio", "expr": f"vector({objective.target!r})", "labels": base},
        {"record": "slo:error_budget:ratio", "expr": f"vector({budget})", "labels": base},
        {"record": "slo:time_period:days", "expr": f"vector({days:g})", "labels": base},
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate5m{selector}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
            f"slo:error_budget:ratio{selector}\n",
            "labels": base,
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate{period}{selector}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
            f"slo:error_budget:ratio{selector}\n",
            "labels": base,
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{selector}",
            "labels": base,
        },
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {
                **base,
                "sloth_mode": "mamori-export",
                "sloth_objective": f"{objective.target * 100:g}",
                "mamori_user_story": objective.user_story,
            },
        },
    ]
    alerts = []
    for severity in ("page", "ticket"):
        rules = [r for r in objective.rules if r.severity == severity]
        if not rules:
            continue
        alerts.append(
            {
                "alert": f"SLOErrorBudgetBurn{severity.capitalize()}",
                "expr": _alert_expr(rules, selector, budget),
                "labels": {"sloth_severity": severity, "severity": severity, "user_story": objective.user_story},
                "annotations": {
                    "summary": f"{objective.display_name}: error budget burning too fast",
                    "title": f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget "
                    "burn rate is too fast.",
                },
            }
        )
    groups = [
        {"name": f"sloth-slo-sli-recordings-{sid}", "rules": recordings},
        {"name": f"sloth-slo-meta-recordings-{sid}", "rules": meta},
    ]
    if alerts:
        groups.append({"name": f"sloth-slo-alerts-{sid}", "rules": alerts})
    return groups


def export(objectives: list[CompiledObjective], docs: list[RawDoc]) -> tuple[dict[str, Any], list[str]]:
    """A Prometheus rule file for every Prometheus ratio objective, and the objectives that were skipped."""
    by_name = {(d.kind, d.name): d for d in docs}
    groups: list[dict[str, Any]] = []
    skipped: list[str] = []
    for objective in objectives:
        q = _objective_queries(objective, by_name)
        if q is None:
            skipped.append(f"{objective.slo}#{objective.index}: not a Prometheus ratio SLI")
            continue
        groups.extend(objective_groups(objective, q))
    return {"groups": groups}, skipped


def _objective_queries(objective: CompiledObjective, by_name: dict[tuple[str, str], RawDoc]) -> RatioQueries | None:
    doc = by_name[("SLO", objective.slo)]
    spec = SLOSpec.model_validate(doc.spec)
    item = spec.objectives[objective.index]
    if item.indicator is not None:
        sli = item.indicator.spec
    elif spec.indicator is not None:
        sli = spec.indicator.spec
    else:
        ref = item.indicator_ref or spec.indicator_ref or ""
        sli = SLISpec.model_validate(by_name[("SLI", ref)].spec)
    return queries(sli, objective.source_type)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(rules: dict[str, Any]) -> str:
    """Multi-line expressions as YAML block scalars, like Sloth's output."""
    return yaml.dump(rules, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)
