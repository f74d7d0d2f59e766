"""Turn OpenSLO documents (SLO, SLI, AlertPolicy, AlertCondition) into compiled objectives. No I/O.

One compiled objective is what gets evaluated and what ingest counts events for: its own series of
per-minute good/total buckets, keyed `"<slo>#<objective index>"`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from mamori.core.clock import parse_instant
from mamori.core.errors import InvalidInput
from mamori.slo import filter as event_filter
from mamori.slo.budget import BurnRule, Severity, Window, default_rules, nominal_length
from mamori.slo.openslo import (
    AlertConditionSpec,
    AlertPolicySpec,
    InlinePolicy,
    MetricSpec,
    Objective,
    SLISpec,
    SLOSpec,
    is_mamori,
)

USER_STORY_LABEL = "user-story"
ANNOTATION_PREFIX = "mamori.dev/"
SLICE_BY = "mamori.dev/slice-by"
MIN_EVENTS = "mamori.dev/min-events"
DEFAULT_MIN_EVENTS = 10
MAINTENANCE = "mamori.dev/maintenance"
"""Comma-separated RFC 3339 intervals `start/end`; events inside them are left out of the budget."""
PAGE_SEVERITIES = {"page", "critical", "high", "p1", "sev1"}


@dataclass(frozen=True)
class RawDoc:
    kind: str
    name: str
    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class EventCounter:
    """Decides, for one event, whether it counts in `total` and whether it is good."""

    service: str
    total: event_filter.Predicate
    good: event_filter.Predicate | None = None
    bad: event_filter.Predicate | None = None
    threshold_field: tuple[str, ...] | None = None
    op: str | None = None
    value: float | None = None
    uses: event_filter.FieldUses = field(default_factory=dict)
    """The fields the SLI reads and what they are compared with (lets ingest judge equivalent events once)."""

    def judge(self, event: Mapping[str, Any]) -> bool | None:
        """None when the event is not part of this SLI, else whether it is good."""
        if not self.total(event):
            return None
        if self.good is not None:
            return self.good(event)
        if self.bad is not None:
            return not self.bad(event)
        return self._within_threshold(event)

    def _within_threshold(self, event: Mapping[str, Any]) -> bool:
        current: Any = event
        for part in self.threshold_field or ():
            if not isinstance(current, dict):
                return False
            current = current.get(part)
        if isinstance(current, bool) or not isinstance(current, int | float) or self.value is None:
            return False
        return {
            "lt": current < self.value,
            "lte": current <= self.value,
            "gt": current > self.value,
            "gte": current >= self.value,
        }[self.op or "lte"]


@dataclass(frozen=True)
class CompiledObjective:
    slo: str
    index: int
    name: str
    service: str
    display_name: str
    user_story: str
    target: float
    window: Window
    budgeting_method: str
    rules: list[BurnRule]
    min_events: int
    slice_by: tuple[str, ...] | None
    counter: EventCounter | None
    source_type: str | None
    source_spec: dict[str, Any] = field(default_factory=dict)
    slice_minutes: int = 1
    slice_target: float | None = None
    composite_weight: float | None = None
    composite: bool = False
    """True for the objectives of a composite SLO (each objective has its own indicator)."""
    maintenance: tuple[tuple[int, int], ...] = ()
    """Maintenance windows as epoch-minute intervals [start, end): not counted, so not in the budget."""
    queries: dict[str, str] = field(default_factory=dict)
    """For queried sources: the query of each ratio side (good or bad, and total)."""
    connection: dict[str, Any] = field(default_factory=dict)
    """For queried sources: connection details (the DataSource's, then the metric source's own spec)."""

    @property
    def series(self) -> str:
        return f"{self.slo}#{self.index}"

    @property
    def window_text(self) -> str:
        return self.window.duration


COMPOSITE_INDEX = -1
COMPOSITE_NAME = "composite"


def composite_groups(objectives: list[CompiledObjective]) -> dict[str, list[CompiledObjective]]:
    """The objectives of each composite SLO with at least two objectives, by SLO name."""
    groups: dict[str, list[CompiledObjective]] = {}
    for objective in objectives:
        if objective.composite:
            groups.setdefault(objective.slo, []).append(objective)
    return {name: members for name, members in groups.items() if len(members) > 1}


def composite_objective(members: list[CompiledObjective]) -> CompiledObjective:
    """The combined objective of a composite SLO: its target is the weighted mean of the members' targets;
    it shares the SLO's window, alert rules and minimum-events guard; it counts nothing itself."""
    weights = [m.composite_weight or 1.0 for m in members]
    target = sum(w * m.target for w, m in zip(weights, members, strict=True)) / sum(weights)
    return replace(
        members[0],
        index=COMPOSITE_INDEX,
        name=COMPOSITE_NAME,
        target=target,
        counter=None,
        source_type=COMPOSITE_NAME,
        source_spec={},
        composite_weight=None,
        slice_by=None,
        queries={},
        connection={},
    )


def user_story(metadata: Mapping[str, Any]) -> str:
    labels = metadata.get("labels") or {}
    story = labels.get(USER_STORY_LABEL) if isinstance(labels, Mapping) else None
    if isinstance(story, list):
        story = story[0] if story else None
    return str(story or metadata.get("displayName") or metadata.get("name"))


def _annotations(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    value = metadata.get("annotations") or {}
    return value if isinstance(value, Mapping) else {}


def _source_of(sli: SLISpec) -> MetricSpec:
    if sli.threshold_metric is not None:
        return sli.threshold_metric
    ratio = sli.ratio_metric
    assert ratio is not None
    return ratio.total or ratio.raw  # type: ignore[return-value]


def _counter(service: str, sli: SLISpec, objective: Objective) -> EventCounter | None:
    main = _source_of(sli)
    if not is_mamori(main.metric_source.type):
        return None
    total_text = main.metric_source.spec.get("filter")
    total = event_filter.compile_filter(total_text)
    uses = event_filter.filter_uses(total_text)
    if sli.threshold_metric is not None:
        path = tuple(str(main.metric_source.spec["field"]).split("."))
        consts: event_filter.FieldUses = {path: frozenset({objective.value}) if objective.value is not None else None}
        event_filter.merge_uses(uses, consts)
        return EventCounter(
            service=service, total=total, threshold_field=path, op=objective.op, value=objective.value, uses=uses
        )
    ratio = sli.ratio_metric
    assert ratio is not None
    side = ratio.good if ratio.good is not None else ratio.bad
    assert side is not None
    side_text = side.metric_source.spec.get("filter")
    event_filter.merge_uses(uses, event_filter.filter_uses(side_text))
    predicate = event_filter.compile_filter(side_text)
    if ratio.good is not None:
        return EventCounter(service=service, total=total, good=predicate, uses=uses)
    return EventCounter(service=service, total=total, bad=predicate, uses=uses)


def _severity(spec: AlertConditionSpec) -> Severity:
    return "page" if spec.severity.lower() in PAGE_SEVERITIES else "ticket"


def _policy_rules(policies: list[InlinePolicy], docs: Index) -> list[BurnRule]:
    rules: list[BurnRule] = []
    for item in policies:
        spec = item.spec or (AlertPolicySpec.model_validate(docs.spec("AlertPolicy", item.alert_policy_ref or "")))
        for cond in spec.conditions:
            cspec = cond.spec or AlertConditionSpec.model_validate(
                docs.spec("AlertCondition", cond.condition_ref or "")
            )
            body = cspec.condition
            long = nominal_length(body.lookback_window)
            short = nominal_length(body.alert_after) if body.alert_after else long / 12
            rules.append(
                BurnRule(
                    _severity(cspec),
                    long,
                    max(short, timedelta(minutes=1)),
                    body.threshold,
                )
            )
    return rules


@dataclass
class Index:
    by_kind: dict[str, dict[str, RawDoc]]

    def spec(self, kind: str, name: str) -> Mapping[str, Any]:
        doc = self.by_kind.get(kind, {}).get(name)
        if doc is None:
            raise ValueError(f"{kind} {name!r} is not defined")
        return doc.spec


def compile_objectives(docs: list[RawDoc]) -> list[CompiledObjective]:
    """Every objective of every SLO, with references resolved."""
    index = Index(by_kind={})
    for doc in docs:
        index.by_kind.setdefault(doc.kind, {})[doc.name] = doc
    out: list[CompiledObjective] = []
    for doc in sorted(index.by_kind.get("SLO", {}).values(), key=lambda d: d.name):
        out.extend(compile_slo(doc, index))
    return out


def compile_slo(doc: RawDoc, index: Index) -> list[CompiledObjective]:
    spec = SLOSpec.model_validate(doc.spec)
    window_spec = spec.time_window[0]
    window = Window(
        duration=window_spec.duration,
        rolling=window_spec.is_rolling,
        time_zone=window_spec.calendar.time_zone if window_spec.calendar else "UTC",
    )
    policy_rules = _policy_rules(spec.alert_policies or [], index)
    rules = policy_rules or default_rules(window.period)
    notes = _annotations(doc.metadata)
    slice_by = notes.get(SLICE_BY)
    min_events = int(notes.get(MIN_EVENTS, DEFAULT_MIN_EVENTS))
    maintenance = maintenance_windows(str(notes.get(MAINTENANCE, "")))
    out = []
    for i, objective in enumerate(spec.objectives):
        sli = _indicator(spec, objective, index)
        source = _source_of(sli).metric_source
        source_type = source.type
        if source_type is None and source.metric_source_ref:
            source_type = str(index.spec("DataSource", source.metric_source_ref).get("type"))
        queries, connection = _remote(sli, index)
        slice_minutes = 1
        if objective.time_slice_window:
            slice_minutes = int(nominal_length(objective.time_slice_window).total_seconds() // 60)
        out.append(
            CompiledObjective(
                slo=doc.name,
                index=i,
                name=objective.display_name or f"objective {i + 1}",
                service=spec.service,
                display_name=str(doc.metadata.get("displayName") or doc.name),
                user_story=user_story(doc.metadata),
                target=objective.ratio_target,
                window=window,
                budgeting_method=spec.budgeting_method,
                rules=rules,
                min_events=min_events,
                maintenance=maintenance,
                slice_by=tuple(str(slice_by).split(".")) if slice_by else None,
                counter=_counter(spec.service, sli, objective),
                source_type=source_type,
                source_spec=dict(source.spec),
                slice_minutes=max(slice_minutes, 1),
                slice_target=objective.time_slice_target,
                composite_weight=objective.composite_weight,
                composite=spec.indicator is None and spec.indicator_ref is None,
                queries=queries,
                connection=connection,
            )
        )
    return out


def _indicator(spec: SLOSpec, objective: Objective, index: Index) -> SLISpec:
    if objective.indicator is not None:
        return objective.indicator.spec
    if objective.indicator_ref is not None:
        return SLISpec.model_validate(index.spec("SLI", objective.indicator_ref))
    if spec.indicator is not None:
        return spec.indicator.spec
    return SLISpec.model_validate(index.spec("SLI", spec.indicator_ref or ""))


def _remote(sli: SLISpec, index: Index) -> tuple[dict[str, str], dict[str, Any]]:
    ratio = sli.ratio_metric
    if ratio is None:
        return {}, {}
    queries: dict[str, str] = {}
    connection: dict[str, Any] = {}
    for side in ("good", "bad", "total"):
        metric = getattr(ratio, side)
        if metric is None or is_mamori(metric.metric_source.type):
            continue
        source = metric.metric_source
        if "query" in source.spec:
            queries[side] = str(source.spec["query"])
        if source.metric_source_ref:
            details = index.spec("DataSource", source.metric_source_ref).get("connectionDetails")
            for item in details if isinstance(details, list) else [details]:
                if isinstance(item, Mapping):
                    connection.update(item)
        connection.update({k: v for k, v in source.spec.items() if k != "query"})
    return queries, connection


def maintenance_windows(text: str) -> tuple[tuple[int, int], ...]:
    """`2026-11-28T02:00Z/2026-11-28T03:00Z, ...` -> epoch-minute intervals; raises ValueError when malformed."""
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        start_text, sep, end_text = item.partition("/")
        try:
            start, end = parse_instant(start_text), parse_instant(end_text)
        except InvalidInput as exc:
            raise ValueError(f"maintenance window {item!r}: {exc.detail}") from None
        if not sep or end <= start:
            raise ValueError(f"maintenance window {item!r}: expected start/end with end after start")
        out.append((int(start.timestamp() // 60), int(-(-end.timestamp() // 60))))
    return tuple(out)
