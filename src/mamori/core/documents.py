"""The shapes of configuration as code: a document, a validated bundle, a kind's definition and the
registry of kinds, the context an apply runs in and the report it gives (used by `manifest`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from sqlalchemy.orm import Session

from mamori.core.audit import Actor
from mamori.core.errors import Problem

if TYPE_CHECKING:
    from mamori.core.runtime import Runtime

MAMORI_API = "mamori.dev/v1"
"""The apiVersion of Mamori's own kinds."""


class SpecModel(BaseModel):
    """Base of every kind's spec: camelCase keys as written in YAML, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel, frozen=True)


@dataclass
class Document:
    """One document of one file, before and after its spec is validated."""

    file: str
    index: int
    api_version: str
    kind: str
    name: str
    metadata: dict[str, Any]
    spec: dict[str, Any]
    base_dir: Path
    model: Any = None
    root: Path | None = None
    """The configuration directory that was loaded: files a document points to must stay inside it."""

    @property
    def ref(self) -> str:
        return f"document {self.index + 1} ({self.kind} {self.name!r})"

    @property
    def labels(self) -> dict[str, Any]:
        labels = self.metadata.get("labels") or {}
        return labels if isinstance(labels, dict) else {}

    @property
    def display_name(self) -> str:
        return str(self.metadata.get("displayName") or self.name)

    def problem(self, loc: str, msg: str) -> Problem:
        return Problem(loc=loc, msg=msg, file=self.file, document=self.ref)

    def beside(self, name: object) -> Path:
        """The file `name` points to, relative to this document; ValueError (saying why) when it is not a
        relative path, or when it leaves the configuration directory (`../`, or a symlink out of it)."""
        if not isinstance(name, str) or not name or Path(name).is_absolute():
            raise ValueError("must be a path relative to this document")
        path = (self.base_dir / name).resolve()
        root = (self.root or self.base_dir).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"must stay inside the configuration directory {root}; {name!r} leads out of it")
        return path


@dataclass
class Bundle:
    """A validated set of documents, indexed by (kind, name) for cross-references.

    `stored` holds the names of objects already in the database, (apiVersion, kind) -> names, when the bundle
    was checked against one (`manifest.stored_names`): `names` answers with both, so a reference to an object
    applied earlier (an SLO's service, a route's policy) is no error. Users are there by email (lower case)
    and by handle."""

    documents: list[Document]
    stored: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def of_kind(self, kind: str, api_version: str | None = None) -> list[Document]:
        return [d for d in self.documents if d.kind == kind and (api_version is None or d.api_version == api_version)]

    def get(self, kind: str, name: str, api_version: str = MAMORI_API) -> Document | None:
        for doc in self.documents:
            if doc.kind == kind and doc.name == name and doc.api_version == api_version:
                return doc
        return None

    def names(self, kind: str, api_version: str = MAMORI_API) -> set[str]:
        """The names declared in the bundle or already stored."""
        declared = {d.name for d in self.documents if d.kind == kind and d.api_version == api_version}
        return declared | self.stored.get((api_version, kind), set())


@dataclass
class ApplyContext:
    session: Session
    runtime: Runtime
    actor: Actor
    now: datetime
    bundle: Bundle


Prepare = Callable[[Document], dict[str, Any]]
CrossCheck = Callable[[Document, Bundle], list[Problem]]
ApplyFn = Callable[[ApplyContext, Document], None]
DeleteFn = Callable[[ApplyContext, str], None]


@dataclass(frozen=True)
class KindDef:
    """How one kind is read, checked and stored.

    `prepare` may rewrite the raw spec before validation (e.g. read a file it points to);
    `check` does cross-document checks; `apply`/`delete` materialise into the domain's
    tables (documents are always kept in `config_objects` too).
    """

    api_version: str
    kind: str
    spec_model: type[BaseModel] | None
    order: int = 100
    prepare: Prepare | None = None
    check: CrossCheck | None = None
    apply: ApplyFn | None = None
    delete: DeleteFn | None = None


@dataclass
class KindRegistry:
    kinds: dict[tuple[str, str], KindDef] = field(default_factory=dict)

    def register(self, kind_def: KindDef) -> None:
        key = (kind_def.api_version, kind_def.kind)
        if key in self.kinds:
            raise ValueError(f"kind {key} registered twice")
        self.kinds[key] = kind_def

    def get(self, api_version: str, kind: str) -> KindDef | None:
        return self.kinds.get((api_version, kind))

    def known(self) -> list[str]:
        return sorted(f"{a}/{k}" for a, k in self.kinds)


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "dry_run": self.dry_run,
        }
