"""Configuration as code: load, validate and apply directories of `apiVersion/kind/metadata/spec` documents.

Each domain registers its kinds in a `KindRegistry`. Loading reads every YAML and
JSON file under a directory; validation reports every problem at once, each
naming the file, the document, the field path and what was expected; applying is
one transaction (all or nothing), skips unchanged documents, audits every change
and, with `prune`, removes objects that configuration created and no longer declares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mamori.core import audit
from mamori.core.audit import Actor
from mamori.core.config_files import (
    iter_config_files,
    read_documents,
)
from mamori.core.documents import (
    MAMORI_API,
    ApplyContext,
    ApplyFn,
    ApplyReport,
    Bundle,
    CrossCheck,
    DeleteFn,
    Document,
    KindDef,
    KindRegistry,
    Prepare,
    SpecModel,
)
from mamori.core.errors import NotFound, Problem, ValidationFailed
from mamori.core.models import ConfigObject, Service, Team, User

if TYPE_CHECKING:
    from mamori.core.runtime import Runtime

__all__ = [
    "MAMORI_API",
    "ApplyContext",
    "ApplyFn",
    "ApplyReport",
    "Bundle",
    "CrossCheck",
    "DeleteFn",
    "Document",
    "KindDef",
    "KindRegistry",
    "Prepare",
    "SpecModel",
    "apply",
    "digest",
    "format_loc",
    "load",
    "parse_documents",
    "problems_from_validation",
    "stored_names",
    "stored_specs",
    "validate",
]

METADATA_KEYS = {"name", "displayName", "labels", "annotations", "namespace"}
APPLY_LOCK = 0x6D616D6F7269  # "mamori": the PostgreSQL advisory lock that one apply at a time holds


def format_loc(loc: tuple[Any, ...] | list[Any], prefix: str = "spec") -> str:
    """("contacts", 1, "type") -> "spec.contacts[1].type"."""
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def problems_from_validation(exc: ValidationError, *, doc: Document, prefix: str = "spec") -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "required field is missing"
        problems.append(doc.problem(format_loc(err["loc"], prefix), msg))
    return problems


def _is_embedded_data(raw: Any) -> bool:
    """A mapping with neither apiVersion nor kind: data, not a document."""
    return isinstance(raw, dict) and "apiVersion" not in raw and "kind" not in raw


def parse_documents(root: Path, registry: KindRegistry) -> list[Document]:
    """Read every document under `root`; raises ValidationFailed listing every structural problem."""
    problems: list[Problem] = []
    docs: list[Document] = []
    seen: dict[tuple[str, str, str], str] = {}
    top = root if root.is_dir() else root.parent
    for path in iter_config_files(root):
        raws = read_documents(path, problems)
        if raws and all(_is_embedded_data(r) for r in raws):
            # A data file that a document points to (e.g. a flagd file beside its
            # FlagSet), not a document itself.
            continue
        for index, raw in enumerate(raws):
            doc = _parse_one(raw, path, index, registry, problems)
            if doc is None:
                continue
            doc.root = top
            key = (doc.api_version, doc.kind, doc.name)
            if key in seen:
                problems.append(
                    doc.problem("metadata.name", f"{doc.kind} {doc.name!r} is also declared in {seen[key]}")
                )
                continue
            seen[key] = f"{doc.file} {doc.ref}"
            docs.append(doc)
    if problems:
        raise ValidationFailed(f"configuration in {root} has {len(problems)} problem(s)", problems=problems)
    return docs


def _parse_one(raw: Any, path: Path, index: int, registry: KindRegistry, problems: list[Problem]) -> Document | None:
    ref = f"document {index + 1}"
    if not isinstance(raw, dict):
        problems.append(
            Problem(
                loc="", msg="expected a mapping with apiVersion, kind, metadata and spec", file=str(path), document=ref
            )
        )
        return None
    api_version, kind = raw.get("apiVersion"), raw.get("kind")
    metadata = raw.get("metadata")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        problems.append(
            Problem(
                loc="apiVersion/kind", msg="both apiVersion and kind are required strings", file=str(path), document=ref
            )
        )
        return None
    ref = f"document {index + 1} ({kind})"
    if registry.get(api_version, kind) is None:
        problems.append(
            Problem(
                loc="kind",
                msg=f"unknown kind {api_version}/{kind}; known: {', '.join(registry.known())}",
                file=str(path),
                document=ref,
            )
        )
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        problems.append(Problem(loc="metadata.name", msg="required: a non-empty string", file=str(path), document=ref))
        return None
    unknown_meta = set(metadata) - METADATA_KEYS
    unknown_top = set(raw) - {"apiVersion", "kind", "metadata", "spec"}
    for key in sorted(unknown_meta):
        problems.append(Problem(loc=f"metadata.{key}", msg="unknown field", file=str(path), document=ref))
    for key in sorted(unknown_top):
        problems.append(Problem(loc=key, msg="unknown field", file=str(path), document=ref))
    for key in ("displayName", "namespace"):
        if key in metadata and not isinstance(metadata[key], str):
            problems.append(Problem(loc=f"metadata.{key}", msg="expected a string", file=str(path), document=ref))
    for key in ("labels", "annotations"):
        value = metadata.get(key)
        if value is not None and not (isinstance(value, dict) and all(map(_label, value.items()))):
            problems.append(
                Problem(
                    loc=f"metadata.{key}",
                    msg="expected a mapping of names to strings (or, as OpenSLO allows, lists of strings)",
                    file=str(path),
                    document=ref,
                )
            )
    spec = raw.get("spec", {})
    if not isinstance(spec, dict):
        problems.append(Problem(loc="spec", msg="expected a mapping", file=str(path), document=ref))
        return None
    return Document(
        file=str(path),
        index=index,
        api_version=api_version,
        kind=kind,
        name=metadata["name"],
        metadata=metadata,
        spec=spec,
        base_dir=path.parent,
    )


def _label(item: tuple[Any, Any]) -> bool:
    name, value = item
    return isinstance(name, str) and (
        isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    )


def validate(
    docs: list[Document], registry: KindRegistry, *, stored: dict[tuple[str, str], set[str]] | None = None
) -> Bundle:
    """Validate each spec against its kind's model, then run cross-document checks (against the bundle, and
    against what is `stored` when given: see `stored_names`)."""
    problems: list[Problem] = []
    for doc in docs:
        kind_def = registry.get(doc.api_version, doc.kind)
        assert kind_def is not None  # parse_documents refused unknown kinds
        try:
            if kind_def.prepare is not None:
                doc.spec = kind_def.prepare(doc)
            if kind_def.spec_model is not None:
                doc.model = kind_def.spec_model.model_validate(doc.spec)
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, doc=doc))
        except ValidationFailed as exc:
            problems.extend(exc.problems or [doc.problem("spec", exc.detail)])
        except ValueError as exc:
            problems.append(doc.problem("spec", str(exc)))
        try:
            digest(doc)  # what apply will store must be writable as JSON (e.g. no self-referring YAML anchors)
        except (TypeError, ValueError) as exc:
            problems.append(doc.problem("spec", f"cannot be stored: {exc}"))
    bundle = Bundle(documents=docs, stored=stored or {})
    if not problems:
        for doc in docs:
            kind_def = registry.get(doc.api_version, doc.kind)
            if kind_def is not None and kind_def.check is not None:
                problems.extend(kind_def.check(doc, bundle))
    if problems:
        raise ValidationFailed(f"configuration has {len(problems)} problem(s)", problems=problems)
    return bundle


def load(root: Path, registry: KindRegistry, *, stored: dict[tuple[str, str], set[str]] | None = None) -> Bundle:
    """Parse and validate a directory (or one file): what `mamori validate` does."""
    return validate(parse_documents(root, registry), registry, stored=stored)


def stored_names(session: Session, *, except_kinds: Collection[str] = ()) -> dict[tuple[str, str], set[str]]:
    """(apiVersion, kind) -> names of what is already stored, for references to it: every applied document,
    and the users (email in lower case and handle), teams and services the API or CLI made. Configuration
    objects of `except_kinds` are left out (an apply that prunes them may remove them)."""
    out: dict[tuple[str, str], set[str]] = {}
    gone: set[tuple[str, str]] = set()
    for row in session.scalars(select(ConfigObject)):
        if row.kind in except_kinds:
            gone.add((row.kind, row.name))
            if row.kind == "User" and isinstance(row.spec.get("email"), str):
                gone.add(("User", row.spec["email"].lower()))
            continue
        out.setdefault((row.api_version, row.kind), set()).add(row.name)
    for user in session.scalars(select(User).where(User.active)):
        for ref in (user.email.lower(), user.handle):
            if ref and ("User", ref) not in gone:
                out.setdefault((MAMORI_API, "User"), set()).add(ref)
    for kind, model in (("Team", Team), ("Service", Service)):
        for name in session.scalars(select(model.name)):
            if (kind, name) not in gone:
                out.setdefault((MAMORI_API, kind), set()).add(name)
    return out


def digest(doc: Document) -> str:
    canonical = json.dumps({"spec": doc.spec, "metadata": doc.metadata}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def apply(
    runtime: Runtime,
    bundle: Bundle,
    *,
    actor: Actor,
    dry_run: bool = False,
    prune: bool = False,
    prune_kinds: Collection[str] | None = None,
) -> ApplyReport:
    """Store a validated bundle in one transaction; on any error nothing is stored. `prune` removes what
    config created and no longer declares, of the kinds the bundle holds (or of `prune_kinds`): applying a
    folder of flag sets never removes the users another folder declared."""
    report = ApplyReport(dry_run=dry_run)
    registry = runtime.kinds
    now = runtime.clock.now()
    session = runtime.sessions()
    try:
        _one_apply_at_a_time(session)
        ctx = ApplyContext(session=session, runtime=runtime, actor=actor, now=now, bundle=bundle)
        ordered = sorted(bundle.documents, key=lambda d: (_order(registry, d), d.kind, d.name))
        for doc in ordered:
            _apply_one(ctx, doc, registry, report)
        if prune:
            known = {k for _, k in registry.kinds}
            unknown = sorted(set(prune_kinds or ()) - known)
            if unknown:
                raise ValidationFailed(
                    f"cannot prune unknown kind(s) {', '.join(unknown)}; kinds: {', '.join(sorted(known))}"
                )
            kinds = set(prune_kinds) if prune_kinds else {d.kind for d in bundle.documents}
            _prune(ctx, bundle, registry, report, kinds=kinds)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return report


def _one_apply_at_a_time(session: Session) -> None:
    """Serialise applies: each decides created/updated/unchanged and prunes from what is stored, so two at
    once would both insert a new document (one then fails) or judge and audit from a state the other is
    replacing. PostgreSQL takes an advisory lock until the transaction ends; a SQLite transaction already
    holds the write lock (ADR 6)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPLY_LOCK})


def _order(registry: KindRegistry, doc: Document) -> int:
    kind_def = registry.get(doc.api_version, doc.kind)
    return kind_def.order if kind_def else 1000


def _apply_one(ctx: ApplyContext, doc: Document, registry: KindRegistry, report: ApplyReport) -> None:
    label = f"{doc.kind}/{doc.name}"
    stored = ctx.session.scalar(
        select(ConfigObject).where(
            ConfigObject.api_version == doc.api_version, ConfigObject.kind == doc.kind, ConfigObject.name == doc.name
        )
    )
    new_digest = digest(doc)
    if stored is not None and stored.digest == new_digest:
        report.unchanged.append(label)
        return
    kind_def = registry.get(doc.api_version, doc.kind)
    if kind_def is not None and kind_def.apply is not None:
        kind_def.apply(ctx, doc)
    before = stored.spec if stored is not None else None
    if stored is None:
        stored = ConfigObject(api_version=doc.api_version, kind=doc.kind, name=doc.name)
        ctx.session.add(stored)
        report.created.append(label)
    else:
        report.updated.append(label)
    stored.spec, stored.labels, stored.digest = doc.spec, doc.labels, new_digest
    stored.source_file, stored.managed_by, stored.updated_at = doc.file, "config", ctx.now
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="apply",
        object_type=doc.kind,
        object_id=doc.name,
        at=ctx.now,
        before=before,
        after=doc.spec,
    )
    ctx.session.flush()


def _prune(ctx: ApplyContext, bundle: Bundle, registry: KindRegistry, report: ApplyReport, *, kinds: set[str]) -> None:
    declared = {(d.api_version, d.kind, d.name) for d in bundle.documents}
    stored = ctx.session.scalars(
        select(ConfigObject).where(ConfigObject.managed_by == "config", ConfigObject.kind.in_(sorted(kinds)))
    ).all()
    for obj in sorted(stored, key=lambda o: -_order_of(registry, o.api_version, o.kind)):
        if (obj.api_version, obj.kind, obj.name) not in declared:
            _remove(ctx, registry, obj, action="prune")
            report.deleted.append(f"{obj.kind}/{obj.name}")
    ctx.session.flush()


def _remove(ctx: ApplyContext, registry: KindRegistry, obj: ConfigObject, *, action: str) -> None:
    kind_def = registry.get(obj.api_version, obj.kind)
    if kind_def is not None and kind_def.delete is not None:
        kind_def.delete(ctx, obj.name)  # may refuse (ValidationFailed): the last admin stays
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action=action,
        object_type=obj.kind,
        object_id=obj.name,
        at=ctx.now,
        before=obj.spec,
        after=None,
    )
    ctx.session.delete(obj)


def delete(runtime: Runtime, *, kind: str, name: str, actor: Actor, dry_run: bool = False) -> ApplyReport:
    """Remove one configuration object (`mamori delete KIND NAME`), with its kind's own clean-up, audited."""
    report = ApplyReport(dry_run=dry_run)
    with runtime.sessions() as session:
        obj = session.scalar(select(ConfigObject).where(ConfigObject.kind == kind, ConfigObject.name == name))
        if obj is None:
            known = sorted({k for _, k in runtime.kinds.kinds})
            hint = "" if kind in known else f" ({kind!r} is not a kind; kinds: {', '.join(known)})"
            raise NotFound(f"no {kind} named {name!r} is stored{hint}")
        ctx = ApplyContext(session=session, runtime=runtime, actor=actor, now=runtime.clock.now(), bundle=Bundle([]))
        _remove(ctx, runtime.kinds, obj, action="delete")
        report.deleted.append(f"{kind}/{name}")
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report


def _order_of(registry: KindRegistry, api_version: str, kind: str) -> int:
    kind_def = registry.get(api_version, kind)
    return kind_def.order if kind_def else 1000


def stored_specs(session: Session, *, kind: str, api_version: str = MAMORI_API) -> dict[str, dict[str, Any]]:
    """The applied specs of one kind by name: how domains read config objects they keep no table for."""
    rows = session.scalars(
        select(ConfigObject).where(ConfigObject.kind == kind, ConfigObject.api_version == api_version)
    ).all()
    return {row.name: row.spec for row in rows}
