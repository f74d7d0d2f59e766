"""The kinds this domain adds to configuration as code: OpenSLO v1 (and v1alpha SLOs) and ErrorBudgetPolicy.

The OpenSLO spec models are in `mamori.slo.openslo` (the format), the ErrorBudgetPolicy spec in
`kinds.policy`, the checks against the whole configuration in `kinds.checks`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select

from mamori.core.errors import ValidationFailed
from mamori.core.manifest import MAMORI_API, ApplyContext, Document, KindDef
from mamori.slo import v1alpha
from mamori.slo.kinds import checks
from mamori.slo.kinds.policy import ErrorBudgetPolicySpec
from mamori.slo.models import SloDocument
from mamori.slo.openslo import (
    OPENSLO_API,
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

POLICY_KIND = "ErrorBudgetPolicy"


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
    _kind(OPENSLO_API, "AlertPolicy", AlertPolicySpec, 204, checks.policy),
    _kind(OPENSLO_API, "SLI", SLISpec, 205, checks.sli),
    _kind(OPENSLO_API, "SLO", SLOSpec, 206, checks.slo),
    # Sloth reads v1alpha SLOs: converted to v1 on load, stored and evaluated as SLOs.
    KindDef(
        OPENSLO_V1ALPHA,
        "SLO",
        SLOSpec,
        order=206,
        prepare=_prepare_v1alpha,
        check=checks.slo,
        apply=_apply("SLO"),
        delete=_delete("SLO"),
    ),
    _kind(MAMORI_API, POLICY_KIND, ErrorBudgetPolicySpec, 210, checks.budget_policy),
]

KIND_NAMES = [k.kind for k in KINDS]
