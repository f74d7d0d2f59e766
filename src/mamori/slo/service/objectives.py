"""Which objectives the stored configuration defines, compiled once per configuration and runtime.

`Plans` is the runtime's cache (declared in `Plugin.states`): the compiled objectives and the ingest
plan of each configuration seen, keyed by every document's content, with the timestamp caches the plans share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import manifest
from mamori.core.manifest import KindRegistry
from mamori.slo import counting, definitions, prometheus_rules
from mamori.slo.models import SloDocument
from mamori.slo.openslo import OPENSLO_APIS

Compiled = tuple[list[definitions.CompiledObjective], counting.CountPlan]


class Plans:
    """Objectives and the ingest plan, compiled once per configuration (one per runtime: `runtime.state(Plans)`)."""

    LIMIT = 16

    def __init__(self) -> None:
        self.stamps = counting.Stamps()
        self._compiled: dict[tuple[Any, ...], Compiled] = {}

    def __len__(self) -> int:
        """How many configurations are compiled and kept."""
        return len(self._compiled)

    def get(self, session: Session) -> Compiled:
        rows = session.scalars(select(SloDocument).order_by(SloDocument.kind, SloDocument.name)).all()
        fingerprint = tuple(
            (r.kind, r.name, orjson.dumps([r.doc_metadata, r.spec], option=orjson.OPT_SORT_KEYS)) for r in rows
        )
        found = self._compiled.get(fingerprint)
        if found is None:
            docs = [definitions.RawDoc(r.kind, r.name, r.doc_metadata, r.spec) for r in rows]
            objectives = definitions.compile_objectives(docs)
            if len(self._compiled) > self.LIMIT:
                self._compiled.clear()
            found = self._compiled[fingerprint] = (objectives, counting.plan_for(objectives, self.stamps))
        return found


def compiled(session: Session, plans: Plans | None = None) -> Compiled:
    """The stored configuration's objectives and ingest plan; without the runtime's `plans`, compiled afresh."""
    return (Plans() if plans is None else plans).get(session)


def list_objectives(session: Session, plans: Plans | None = None) -> list[definitions.CompiledObjective]:
    return compiled(session, plans)[0]


def docs_from_config(config: Path, kinds: KindRegistry) -> list[definitions.RawDoc]:
    bundle = manifest.load(config, kinds)
    return [
        definitions.RawDoc(d.kind, d.name, d.metadata, d.spec)
        for d in bundle.documents
        if d.api_version in OPENSLO_APIS
    ]


def objectives_from_config(config: Path, kinds: KindRegistry) -> list[definitions.CompiledObjective]:
    return definitions.compile_objectives(docs_from_config(config, kinds))


def export_prometheus(*, config: Path, kinds: KindRegistry) -> tuple[str, list[str]]:
    """Sloth-equivalent Prometheus rules (YAML) for the config's Prometheus SLOs, and what was skipped."""
    docs = docs_from_config(config, kinds)
    rules, skipped = prometheus_rules.export(definitions.compile_objectives(docs), docs)
    return prometheus_rules.to_yaml(rules), skipped


def slo_services(bundle: manifest.Bundle, session: Session | None) -> list[tuple[str, str]]:
    """(service, SLO name) of every SLO stored (when there is a database) or in the bundle (which wins)."""
    found: dict[str, str] = {}
    if session is not None:
        for row in session.scalars(select(SloDocument).where(SloDocument.kind == "SLO")):
            if isinstance((row.spec or {}).get("service"), str):
                found[row.name] = row.spec["service"]
    for api in OPENSLO_APIS:
        for doc in bundle.of_kind("SLO", api):
            found[doc.name] = doc.model.service
    return sorted((service, name) for name, service in found.items())
