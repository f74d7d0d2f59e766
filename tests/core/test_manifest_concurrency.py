"""Two applies at once take turns: both succeed, and the second sees (and audits) what the first stored."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.documents import ApplyContext, Bundle, Document, KindDef
from mamori.core.models import AuditEntry, ConfigObject
from mamori.core.runtime import Runtime

TEST_API = "test.mamori.dev/v1"


def _slow_apply(ctx: ApplyContext, doc: Document) -> None:
    time.sleep(0.3)  # a kind that takes a moment to store: the other apply now reads what is stored


def _bundle(colour: str) -> Bundle:
    doc = Document(
        file="colours.yaml",
        index=0,
        api_version=TEST_API,
        kind="Colour",
        name="favourite",
        metadata={"name": "favourite"},
        spec={"colour": colour},
        base_dir=Path("."),
    )
    return Bundle(documents=[doc])


def test_two_applies_of_a_new_document_at_once_both_succeed_one_after_the_other(runtime: Runtime) -> None:
    runtime.kinds.register(KindDef(api_version=TEST_API, kind="Colour", spec_model=None, apply=_slow_apply))
    start = threading.Barrier(2)
    reports: dict[str, manifest.ApplyReport] = {}
    errors: list[BaseException] = []

    def apply(colour: str) -> None:
        start.wait()
        try:
            reports[colour] = manifest.apply(runtime, _bundle(colour), actor=Actor(name=colour, source="config"))
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(c,)) for c in ("red", "blue")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(len(r.created) for r in reports.values()) == [0, 1]
    assert sorted(len(r.updated) for r in reports.values()) == [0, 1]
    with runtime.sessions() as session:
        stored = session.scalars(select(ConfigObject).where(ConfigObject.kind == "Colour")).one()
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "Colour").order_by(AuditEntry.id)
        ).all()
    first, second = entries
    assert first.before is None and second.before == first.after, "the second apply audits what the first stored"
    assert stored.spec == second.after
