"""New findings of an import as plain objects, written with one bulk INSERT per table at the end: the many
new rows of a large export skip the ORM's per-object bookkeeping. A `Draft` has the attributes of a
`FindingRow` (and `DraftSource` of a `FindingSource`), so the merge rules treat both alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from mamori.core.db import UTCDateTime
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
    """Insert the drafts, their sources and their first history rows (one executemany per table)."""
    if not drafts:
        return
    connection = session.connection()
    insert_rows(
        connection, _table(FindingRow), [[getattr(d, k) for k in _FINDING_FIELDS] for d in drafts], _FINDING_FIELDS
    )
    rows = []
    for d in drafts:
        for s in d.sources:
            row = [getattr(s, k) for k in _SOURCE_FIELDS]
            row.append(d.id)
            rows.append(row)
    insert_rows(connection, _table(FindingSource), rows, [*_SOURCE_FIELDS, "finding_id"])
    if history:
        names = list(history[0])
        insert_rows(connection, _table(FindingHistory), [[h[n] for n in names] for h in history], names)


def insert_rows(connection: Connection, table: Table, rows: list[list[Any]], names: list[str]) -> None:
    """One executemany of `rows` (values in the order of `names`) straight to the driver.

    Each value goes through its column type's own bind processor for this dialect (the same conversion an
    ORM or Core insert makes: JSON serialised, datetimes put in UTC), but without SQLAlchemy building a
    parameter dictionary per row; a timestamp column's few distinct values are converted once each."""
    if not rows:
        return
    dialect = connection.dialect
    converters: list[Callable[[Any], Any] | None] = []
    for name in names:
        column = table.columns[name]
        process = column.type._cached_bind_processor(dialect)
        if process is not None and isinstance(column.type, UTCDateTime):
            process = _memoised(process)
        converters.append(process)
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(placeholder for _ in names)})"
    pairs = [(i, c) for i, c in enumerate(converters) if c is not None]
    for row in rows:
        for i, convert in pairs:
            value = row[i]
            if value is not None:
                row[i] = convert(value)
    connection.exec_driver_sql(sql, [tuple(r) for r in rows])


def _memoised(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = out = process(value)
            return out

    return convert


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


__all__ = ["Draft", "DraftSource", "asdict", "insert_rows", "write"]
