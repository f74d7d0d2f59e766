"""OpenSLO v1alpha SLOs (the form Sloth reads) converted to v1, so that they validate, evaluate and export alike.

v1alpha puts `ratioMetrics` (or the SLO's `indicator.thresholdMetric`) on each objective with
`{source, queryType, query}` metrics, and `timeWindows: [{count, unit}]`; the conversion makes a v1
spec with an inline indicator per objective and `timeWindow: [{duration}]`. No I/O.
"""

from __future__ import annotations

from typing import Any

from mamori.core.errors import Problem, ValidationFailed

UNITS = {"second": "s", "minute": "m", "hour": "h", "day": "d", "week": "w", "month": "M", "quarter": "Q", "year": "Y"}
SLO_KEYS = {"description", "service", "indicator", "timeWindows", "budgetingMethod", "objectives"}
OBJECTIVE_KEYS = {"displayName", "op", "value", "target", "timeSliceTarget", "timeSliceWindow", "ratioMetrics"}
METRIC_KEYS = {"source", "queryType", "query", "metadata"}


def _unknown(keys: Any, allowed: set[str], loc: str, problems: list[Problem]) -> None:
    for key in sorted(set(keys) - allowed):
        problems.append(Problem(loc=f"{loc}.{key}", msg="unknown field"))


def _metric(raw: Any, loc: str, problems: list[Problem]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        problems.append(Problem(loc=loc, msg="expected a mapping with source, queryType and query"))
        return {}
    _unknown(raw, METRIC_KEYS, loc, problems)
    spec = {k: raw[k] for k in ("query", "queryType") if k in raw}
    return {"metricSource": {"type": str(raw.get("source") or ""), "spec": spec}}


def _window(raw: Any, problems: list[Problem]) -> dict[str, Any]:
    if (
        not isinstance(raw, dict)
        or str(raw.get("unit", "")).lower() not in UNITS
        or not isinstance(raw.get("count"), int)
    ):
        problems.append(
            Problem(
                loc="spec.timeWindows[0]",
                msg="expected count (a number) and unit (Day, Week, Month, Quarter, Year, ...)",
            )
        )
        return {"duration": "30d", "isRolling": True}
    out: dict[str, Any] = {
        "duration": f"{raw['count']}{UNITS[str(raw['unit']).lower()]}",
        "isRolling": bool(raw.get("isRolling", "calendar" not in raw)),
    }
    if "calendar" in raw and not out["isRolling"]:
        out["calendar"] = raw["calendar"]
    return out


def _objective(raw: Any, i: int, slo_indicator: Any, name: str, problems: list[Problem]) -> dict[str, Any]:
    loc = f"spec.objectives[{i}]"
    if not isinstance(raw, dict):
        problems.append(Problem(loc=loc, msg="expected a mapping"))
        return {}
    _unknown(raw, OBJECTIVE_KEYS, loc, problems)
    out = {
        k: raw[k] for k in ("displayName", "op", "value", "target", "timeSliceTarget", "timeSliceWindow") if k in raw
    }
    ratio = raw.get("ratioMetrics")
    if isinstance(ratio, dict):
        sli: dict[str, Any] = {
            "ratioMetric": {
                side: _metric(ratio[side], f"{loc}.ratioMetrics.{side}", problems)
                for side in ("good", "bad", "total")
                if side in ratio
            }
        }
        if "incremental" in ratio:
            sli["ratioMetric"]["counter"] = bool(ratio["incremental"])
    elif isinstance(slo_indicator, dict) and "thresholdMetric" in slo_indicator:
        sli = {"thresholdMetric": _metric(slo_indicator["thresholdMetric"], "spec.indicator.thresholdMetric", problems)}
    else:
        problems.append(Problem(loc=loc, msg="needs ratioMetrics (or the SLO needs indicator.thresholdMetric)"))
        return out
    out["indicator"] = {"metadata": {"name": f"{name}-{i}"}, "spec": sli}
    return out


def to_v1(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The v1 form of a v1alpha SLO spec; raises ValidationFailed listing every problem."""
    problems: list[Problem] = []
    _unknown(spec, SLO_KEYS, "spec", problems)
    windows = spec.get("timeWindows") or []
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        problems.append(Problem(loc="spec.objectives", msg="required: a non-empty list"))
        objectives = []
    out: dict[str, Any] = {
        "service": spec.get("service"),
        "timeWindow": [_window(windows[0] if isinstance(windows, list) and windows else None, problems)],
        "budgetingMethod": spec.get("budgetingMethod"),
        "objectives": [_objective(o, i, spec.get("indicator"), name, problems) for i, o in enumerate(objectives)],
    }
    if spec.get("description") is not None:
        out["description"] = spec["description"]
    if out["budgetingMethod"] != "Occurrences":
        for objective in out["objectives"]:
            objective.setdefault("timeSliceWindow", "1m")
    if problems:
        raise ValidationFailed("invalid openslo/v1alpha SLO", problems=problems)
    return out
