"""OpenSLO v1 (`apiVersion: openslo/v1`) documents as pydantic models, checked field by field.

Objects may be inline or referenced by name (`indicatorRef`, `alertPolicyRef`, `conditionRef`,
`targetRef`, `metricSourceRef`); references are checked against the configuration bundle.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from mamori.core.manifest import SpecModel
from mamori.slo import filter as event_filter
from mamori.slo.budget import parse_openslo_duration

OPENSLO_API = "openslo/v1"
OPENSLO_V1ALPHA = "openslo/v1alpha"
OPENSLO_APIS = (OPENSLO_API, OPENSLO_V1ALPHA)
MAMORI_SOURCE = "mamori"
Op = Literal["lte", "gte", "lt", "gt"]


def plain(value: Any) -> Any:
    """YAML turns `2022-01-01 12:00:00` into a datetime; keep specs JSON-shaped (strings) instead."""
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def is_mamori(source_type: str | None) -> bool:
    return (source_type or "").lower() == MAMORI_SOURCE


class Metadata(SpecModel):
    name: str = Field(min_length=1)
    display_name: str | None = None
    labels: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None
    namespace: str | None = None


class MetricSource(SpecModel):
    metric_source_ref: str | None = None
    type: str | None = None
    spec: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_builtin(self) -> MetricSource:
        if self.type is None and self.metric_source_ref is None:
            raise ValueError("give metricSourceRef (a DataSource) or type")
        if is_mamori(self.type):
            unknown = set(self.spec) - {"filter", "field"}
            if unknown:
                raise ValueError(f"unknown field(s) for the mamori source: {', '.join(sorted(unknown))}")
            text = self.spec.get("filter")
            if text is not None and not isinstance(text, str):
                raise ValueError("spec.filter must be a string")
            if text:
                try:
                    event_filter.parse(text)
                except event_filter.FilterError as exc:
                    raise ValueError(f"spec.filter {exc}") from None
        return self


class MetricSpec(SpecModel):
    metric_source: MetricSource


class RatioMetric(SpecModel):
    counter: bool | None = None
    good: MetricSpec | None = None
    bad: MetricSpec | None = None
    total: MetricSpec | None = None
    raw_type: Literal["success", "failure"] | None = None
    raw: MetricSpec | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> RatioMetric:
        if self.raw is not None:
            if self.raw_type is None:
                raise ValueError("a raw ratio needs rawType (success or failure)")
            if self.good or self.bad or self.total:
                raise ValueError("use either raw or good/bad with total, not both")
            if is_mamori(self.raw.metric_source.type):
                raise ValueError("the mamori source counts events: use good or bad with total, not raw")
            return self
        if self.total is None:
            raise ValueError("a ratio needs total (with good or bad)")
        if (self.good is None) == (self.bad is None):
            raise ValueError("a ratio needs exactly one of good or bad")
        return self


class SLISpec(SpecModel):
    description: str | None = None
    threshold_metric: MetricSpec | None = None
    ratio_metric: RatioMetric | None = None

    @model_validator(mode="after")
    def _one_metric(self) -> SLISpec:
        if (self.threshold_metric is None) == (self.ratio_metric is None):
            raise ValueError("an SLI needs exactly one of thresholdMetric or ratioMetric")
        threshold = self.threshold_metric
        if (
            threshold is not None
            and is_mamori(threshold.metric_source.type)
            and not threshold.metric_source.spec.get("field")
        ):
            raise ValueError("a mamori thresholdMetric needs spec.field: the event field compared with op/value")
        return self


class InlineSLI(SpecModel):
    api_version: str | None = None
    kind: Literal["SLI"] | None = None
    metadata: Metadata
    spec: SLISpec


class Calendar(SpecModel):
    start_time: str | None = None
    time_zone: str = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


class TimeWindow(SpecModel):
    duration: str
    is_rolling: bool = False
    calendar: Calendar | None = None

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_openslo_duration(value)
        return value

    @model_validator(mode="after")
    def _rolling_units(self) -> TimeWindow:
        if self.is_rolling and self.calendar is not None:
            raise ValueError("a rolling window takes no calendar")
        return self


def _check_slice_window(value: str | None) -> str | None:
    if value is None:
        return None
    _count, unit = parse_openslo_duration(value)
    if unit not in ("m", "h", "d"):
        raise ValueError("timeSliceWindow must be whole minutes, hours or days (e.g. 1m, 5m, 1h)")
    return value


class Objective(SpecModel):
    display_name: str | None = None
    op: Op | None = None
    value: float | None = None
    target: float | None = Field(default=None, gt=0, lt=1)
    target_percent: float | None = Field(default=None, gt=0, lt=100)
    time_slice_target: float | None = Field(default=None, gt=0, le=1)
    time_slice_window: str | None = None
    indicator: InlineSLI | None = None
    indicator_ref: str | None = None
    composite_weight: float | None = Field(default=None, gt=0)

    @field_validator("time_slice_window")
    @classmethod
    def _slice_window(cls, value: str | None) -> str | None:
        return _check_slice_window(value)

    @model_validator(mode="after")
    def _has_target(self) -> Objective:
        if (self.target is None) == (self.target_percent is None):
            raise ValueError("an objective needs exactly one of target (0 < t < 1) or targetPercent")
        if self.indicator is not None and self.indicator_ref is not None:
            raise ValueError("give indicator or indicatorRef, not both")
        return self

    @property
    def ratio_target(self) -> float:
        return self.target if self.target is not None else float(self.target_percent or 0) / 100


class AlertConditionBody(SpecModel):
    kind: Literal["burnrate"]
    op: Op = "gt"
    threshold: float = Field(gt=0)
    lookback_window: str
    alert_after: str | None = None

    @field_validator("lookback_window", "alert_after")
    @classmethod
    def _durations(cls, value: str | None) -> str | None:
        if value is not None:
            parse_openslo_duration(value)
        return value


class AlertConditionSpec(SpecModel):
    description: str | None = None
    severity: str
    condition: AlertConditionBody


class InlineCondition(SpecModel):
    api_version: str | None = None
    kind: Literal["AlertCondition"] | None = None
    metadata: Metadata | None = None
    spec: AlertConditionSpec | None = None
    condition_ref: str | None = None

    @model_validator(mode="after")
    def _ref_or_inline(self) -> InlineCondition:
        if (self.condition_ref is None) == (self.spec is None):
            raise ValueError("give conditionRef or an inline AlertCondition (kind, metadata, spec)")
        return self


class AlertNotificationTargetSpec(SpecModel):
    description: str | None = None
    target: str


class InlineTarget(SpecModel):
    api_version: str | None = None
    kind: Literal["AlertNotificationTarget"] | None = None
    metadata: Metadata | None = None
    spec: AlertNotificationTargetSpec | None = None
    target_ref: str | None = None

    @model_validator(mode="after")
    def _ref_or_inline(self) -> InlineTarget:
        if (self.target_ref is None) == (self.spec is None):
            raise ValueError("give targetRef or an inline AlertNotificationTarget (kind, metadata, spec)")
        return self


class AlertPolicySpec(SpecModel):
    description: str | None = None
    alert_when_no_data: bool = False
    alert_when_resolved: bool = False
    alert_when_breaching: bool = True
    conditions: list[InlineCondition] = Field(min_length=1, max_length=1)
    notification_targets: list[InlineTarget] = Field(default_factory=list)


class InlinePolicy(SpecModel):
    api_version: str | None = None
    kind: Literal["AlertPolicy"] | None = None
    metadata: Metadata | None = None
    spec: AlertPolicySpec | None = None
    alert_policy_ref: str | None = None

    @model_validator(mode="after")
    def _ref_or_inline(self) -> InlinePolicy:
        if (self.alert_policy_ref is None) == (self.spec is None):
            raise ValueError("give alertPolicyRef or an inline AlertPolicy (kind, metadata, spec)")
        return self


class SLOSpec(SpecModel):
    description: str | None = None
    service: str = Field(min_length=1)
    indicator: InlineSLI | None = None
    indicator_ref: str | None = None
    time_window: list[TimeWindow] = Field(min_length=1, max_length=1)
    budgeting_method: Literal["Occurrences", "Timeslices", "RatioTimeslices"]
    objectives: list[Objective] = Field(min_length=1)
    alert_policies: list[InlinePolicy] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SLOSpec:
        if self.indicator is not None and self.indicator_ref is not None:
            raise ValueError("give indicator or indicatorRef, not both")
        top = self.indicator is not None or self.indicator_ref is not None
        per_objective = [o.indicator is not None or o.indicator_ref is not None for o in self.objectives]
        if top and any(per_objective):
            raise ValueError("an SLO takes its indicator at the top or per objective (composite), not both")
        if not top and not all(per_objective):
            raise ValueError("an SLO needs indicator or indicatorRef (or, for a composite SLO, one per objective)")
        if self.budgeting_method != "Occurrences":
            for i, objective in enumerate(self.objectives):
                if objective.time_slice_window is None:
                    raise ValueError(f"objectives[{i}]: {self.budgeting_method} needs timeSliceWindow")
        if self.indicator is not None and self.indicator.spec.threshold_metric is not None:
            for i, objective in enumerate(self.objectives):
                if objective.op is None or objective.value is None:
                    raise ValueError(f"objectives[{i}]: a threshold SLI needs op and value on each objective")
        return self


class ServiceSpec(SpecModel):
    description: str | None = None


class DataSourceSpec(SpecModel):
    description: str | None = None
    type: str = Field(min_length=1)
    connection_details: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
