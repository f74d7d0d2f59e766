"""New findings of an import as plain objects, written with one bulk INSERT per table at the end: the many
new rows of a large export skip the ORM's per-object bookkeeping. A `Draft` has the attributes of a
`FindingRow` (and `DraftSource` of a `FindingSource`), so the merge rules treat both alike."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from mamori.findings.models import FindingHistory, FindingRow, FindingSource


@dataclass
class DraftSource:
    tool: str
    uid: str
    uid_hash: str
    first_seen_at: datetime
    format: str = ""
    status: str = "active"
    workflow: str = ""
    severity: str = "MEDIUM"
    tool_updated_at: datetime | None = None
    repeat_count: int | None = None
    scope: str = ""
    scope_hash: str = ""
    digest: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    import_id: str | None = None
    last_seen_at: datetime | None = None
    id: int | None = None


@dataclass
class Draft:
    id: str
    key: str
    key_hash: str
    kind: str
    account: str
    region: str
    resource: str
    control: str
    ecosystem: str
    package: str
    advisory: str
    location: str
    service: str | None
    team: str | None
    severity: str
    first_seen_at: datetime
    last_seen_at: datetime
    state_changed_at: datetime
    title: str = ""
    resource_type: str = ""
    version: str = ""
    aliases: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    tools: list[str] = field(default_factory=list)
    score: float | None = None
    epss: float | None = None
    kev: bool = False
    priority: str = "P4"
    priority_reasons: list[str] = field(default_factory=list)
    due_at: datetime | None = None
    status: str = "active"
    state: str = "new"
    justification: str | None = None
    accepted_until: datetime | None = None
    assignee: str | None = None
    ticket: str | None = None
    ticket_url: str | None = None
    suppressed_by: str | None = None
    resolved_at: datetime | None = None
    version_id: int = 1
    sources: list[DraftSource] = field(default_factory=list)


_FINDING_FIELDS = [f.name for f in fields(Draft) if f.name != "sources"]
_SOURCE_FIELDS = [f.name for f in fields(DraftSource) if f.name != "id"]


def write(session: Session, drafts: list[Draft], history: list[dict[str, Any]]) -> None:
    """Insert the drafts, their sources and their first history rows (one statement per table)."""
    if not drafts:
        return
    # Core inserts on the tables: one executemany each, without the ORM's per-row RETURNING.
    session.execute(insert(_table(FindingRow)), [{k: getattr(d, k) for k in _FINDING_FIELDS} for d in drafts])
    rows = []
    for d in drafts:
        for s in d.sources:
            row = {k: getattr(s, k) for k in _SOURCE_FIELDS}
            row["finding_id"] = d.id
            rows.append(row)
    session.execute(insert(_table(FindingSource)), rows)
    if history:
        session.execute(insert(_table(FindingHistory)), history)


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


__all__ = ["Draft", "DraftSource", "asdict", "write"]
