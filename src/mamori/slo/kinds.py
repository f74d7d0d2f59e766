"""The kinds this domain adds to configuration as code: OpenSLO v1 and ErrorBudgetPolicy."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, select

from mamori.core.errors import Problem, ValidationFailed
from mamori.core.manifest import MAMORI_API, ApplyContext, Bundle, Document, KindDef
from mamori.slo import definitions, v1alpha
from mamori.slo.models import SloDocument
from mamori.slo.openslo import (
    OPENSLO_API,
    OPENSLO_APIS,
    OPENSLO_V1ALPHA,
    AlertConditionSpec,
    AlertNotificationTargetSpec,
    AlertPolicySpec,
    DataSourceSpec,
    ServiceSpec,
    SLISpec,
    SLOSpec,
    plain,
)
from mamori.slo.policy import ErrorBudgetPolicySpec


def _prepare(doc: Document) -> dict[str, Any]:
    doc.metadata = plain(doc.metadata)
    spec: dict[str, Any] = plain(doc.spec)
    return spec


def _prepare_v1alpha(doc: Document) -> dict[str, Any]:
    spec = _prepare(doc)
    try:
        return v1alpha.to_v1(doc.name, spec)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.detail, problems=[doc.problem(p.loc, p.msg) for p in exc.problems]) from None


def _declared(bundle: Bundle, kind: str, name: str) -> bool:
    return any(bundle.get(kind, name, api) is not None for api in OPENSLO_APIS)


def _ref_problems(doc: Document, bundle: Bundle, refs: list[tuple[str, str, str | None]]) -> list[Problem]:
    problems = []
    for loc, kind, name in refs:
        if name is not None and not _declared(bundle, kind, name):
            problems.append(doc.problem(loc, f"{kind} {name!r} is not defined in this configuration"))
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


def _check_slo(doc: Document, bundle: Bundle) -> list[Problem]:
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


def _check_sli(doc: Document, bundle: Bundle) -> list[Problem]:
    return _ref_problems(doc, bundle, _source_refs("spec", doc.model))


def _policy_refs(prefix: str, spec: AlertPolicySpec) -> list[tuple[str, str, str | None]]:
    refs: list[tuple[str, str, str | None]] = []
    for i, cond in enumerate(spec.conditions):
        refs.append((f"{prefix}.conditions[{i}].conditionRef", "AlertCondition", cond.condition_ref))
    for i, target in enumerate(spec.notification_targets):
        refs.append((f"{prefix}.notificationTargets[{i}].targetRef", "AlertNotificationTarget", target.target_ref))
    return refs


def _check_policy(doc: Document, bundle: Bundle) -> list[Problem]:
    return _ref_problems(doc, bundle, _policy_refs("spec", doc.model))


def _check_budget_policy(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: ErrorBudgetPolicySpec = doc.model
    problems = []
    for i, name in enumerate(spec.slos):
        if not _declared(bundle, "SLO", name):
            problems.append(doc.problem(f"spec.slos[{i}]", f"SLO {name!r} is not defined in this configuration"))
    return problems


def _apply(kind: str) -> Any:
    def apply(ctx: ApplyContext, doc: Document) -> None:
        row = ctx.session.scalar(select(SloDocument).where(SloDocument.kind == kind, SloDocument.name == doc.name))
        if row is None:
            row = SloDocument(kind=kind, name=doc.name)
            ctx.session.add(row)
        row.doc_metadata, row.spec, row.updated_at = dict(doc.metadata), dict(doc.spec), ctx.now
        ctx.session.flush()

    return apply


def _delete(kind: str) -> Any:
    def remove(ctx: ApplyContext, name: str) -> None:
        ctx.session.execute(delete(SloDocument).where(SloDocument.kind == kind, SloDocument.name == name))

    return remove


def _kind(api: str, kind: str, model: type[BaseModel], order: int, check: Any = None) -> KindDef:
    return KindDef(
        api, kind, model, order=order, prepare=_prepare, check=check, apply=_apply(kind), delete=_delete(kind)
    )


KINDS: list[KindDef] = [
    _kind(OPENSLO_API, "Service", ServiceSpec, 200),
    _kind(OPENSLO_API, "DataSource", DataSourceSpec, 201),
    _kind(OPENSLO_API, "AlertNotificationTarget", AlertNotificationTargetSpec, 202),
    _kind(OPENSLO_API, "AlertCondition", AlertConditionSpec, 203),
    _kind(OPENSLO_API, "AlertPolicy", AlertPolicySpec, 204, _check_policy),
    _kind(OPENSLO_API, "SLI", SLISpec, 205, _check_sli),
    _kind(OPENSLO_API, "SLO", SLOSpec, 206, _check_slo),
    # Sloth reads v1alpha SLOs: converted to v1 on load, stored and evaluated as SLOs.
    KindDef(
        OPENSLO_V1ALPHA,
        "SLO",
        SLOSpec,
        order=206,
        prepare=_prepare_v1alpha,
        check=_check_slo,
        apply=_apply("SLO"),
        delete=_delete("SLO"),
    ),
    _kind(MAMORI_API, "ErrorBudgetPolicy", ErrorBudgetPolicySpec, 210, _check_budget_policy),
]

KIND_NAMES = [k.kind for k in KINDS]
