"""The checks of the slo kinds against the whole configuration: references resolve, SLOs compile. No I/O."""

from __future__ import annotations

from pydantic import ValidationError

from mamori.core.errors import Problem
from mamori.core.manifest import Bundle, Document
from mamori.slo import definitions
from mamori.slo.kinds.policy import ErrorBudgetPolicySpec
from mamori.slo.openslo import OPENSLO_APIS, AlertPolicySpec, SLISpec, SLOSpec


def _declared(bundle: Bundle, kind: str, name: str) -> bool:
    return any(name in bundle.names(kind, api) for api in OPENSLO_APIS)  # in the bundle, or already stored


def _ref_problems(doc: Document, bundle: Bundle, refs: list[tuple[str, str, str | None]]) -> list[Problem]:
    problems = []
    for loc, kind, name in refs:
        if name is not None and not _declared(bundle, kind, name):
            problems.append(doc.problem(loc, f"{kind} {name!r} is not defined in this configuration nor stored"))
    return problems


def _source_refs(prefix: str, sli: SLISpec) -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    if sli.threshold_metric is not None:
        out.append(
            (
                f"{prefix}.thresholdMetric.metricSource.metricSourceRef",
                "DataSource",
                sli.threshold_metric.metric_source.metric_source_ref,
            )
        )
    ratio = sli.ratio_metric
    if ratio is not None:
        for part in ("good", "bad", "total", "raw"):
            metric = getattr(ratio, part)
            if metric is not None:
                out.append(
                    (
                        f"{prefix}.ratioMetric.{part}.metricSource.metricSourceRef",
                        "DataSource",
                        metric.metric_source.metric_source_ref,
                    )
                )
    return out


def slo(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: SLOSpec = doc.model
    refs: list[tuple[str, str, str | None]] = [("spec.indicatorRef", "SLI", spec.indicator_ref)]
    if spec.indicator is not None:
        refs += _source_refs("spec.indicator.spec", spec.indicator.spec)
    for i, objective in enumerate(spec.objectives):
        refs.append((f"spec.objectives[{i}].indicatorRef", "SLI", objective.indicator_ref))
        if objective.indicator is not None:
            refs += _source_refs(f"spec.objectives[{i}].indicator.spec", objective.indicator.spec)
    for i, policy in enumerate(spec.alert_policies or []):
        refs.append((f"spec.alertPolicies[{i}].alertPolicyRef", "AlertPolicy", policy.alert_policy_ref))
        if policy.spec is not None:
            refs += _policy_refs(f"spec.alertPolicies[{i}].spec", policy.spec)
    problems = _ref_problems(doc, bundle, refs)
    if not problems:
        problems += _check_compiles(doc, bundle)
    return problems


def _check_annotations(doc: Document) -> list[Problem]:
    notes = doc.metadata.get("annotations") or {}
    if not isinstance(notes, dict):
        return []
    problems = []
    value = notes.get(definitions.MIN_EVENTS)
    if value is not None and not str(value).isdigit():
        problems.append(doc.problem(f"metadata.annotations.{definitions.MIN_EVENTS}", "must be a whole number"))
    windows = notes.get(definitions.MAINTENANCE)
    if windows:
        try:
            definitions.maintenance_windows(str(windows))
        except ValueError as exc:
            problems.append(doc.problem(f"metadata.annotations.{definitions.MAINTENANCE}", str(exc)))
    return problems


def _check_compiles(doc: Document, bundle: Bundle) -> list[Problem]:
    """Resolve references the way evaluation will (e.g. a threshold SLI by reference needs op/value)."""
    problems = _check_annotations(doc)
    if problems:
        return problems
    index = definitions.Index(by_kind={})
    for d in bundle.documents:
        if d.api_version in OPENSLO_APIS:
            index.by_kind.setdefault(d.kind, {})[d.name] = definitions.RawDoc(d.kind, d.name, d.metadata, d.spec)
    try:
        compiled = definitions.compile_slo(definitions.RawDoc(doc.kind, doc.name, doc.metadata, doc.spec), index)
    except (ValueError, ValidationError) as exc:
        return [doc.problem("spec", str(exc))]
    for objective in compiled:
        counter = objective.counter
        if (
            counter is not None
            and counter.threshold_field is not None
            and (counter.op is None or counter.value is None)
        ):
            problems.append(
                doc.problem(
                    f"spec.objectives[{objective.index}]", "a threshold SLI needs op and value on each objective"
                )
            )
    return problems


def sli(doc: Document, bundle: Bundle) -> list[Problem]:
    return _ref_problems(doc, bundle, _source_refs("spec", doc.model))


def _policy_refs(prefix: str, spec: AlertPolicySpec) -> list[tuple[str, str, str | None]]:
    refs: list[tuple[str, str, str | None]] = []
    for i, cond in enumerate(spec.conditions):
        refs.append((f"{prefix}.conditions[{i}].conditionRef", "AlertCondition", cond.condition_ref))
    for i, target in enumerate(spec.notification_targets):
        refs.append((f"{prefix}.notificationTargets[{i}].targetRef", "AlertNotificationTarget", target.target_ref))
    return refs


def policy(doc: Document, bundle: Bundle) -> list[Problem]:
    return _ref_problems(doc, bundle, _policy_refs("spec", doc.model))


def budget_policy(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: ErrorBudgetPolicySpec = doc.model
    problems = []
    for i, name in enumerate(spec.slos):
        if not _declared(bundle, "SLO", name):
            problems.append(
                doc.problem(f"spec.slos[{i}]", f"SLO {name!r} is not defined in this configuration nor stored")
            )
    return problems
