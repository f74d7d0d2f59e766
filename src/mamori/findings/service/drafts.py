"""New findings of an import as plain objects, written with one bulk INSERT per table at the end: the many
new rows of a large export skip the ORM's per-object bookkeeping. A `Draft` has the attributes of a
`FindingRow` (and `DraftSource` of a `FindingSource`), so the merge rules treat both alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

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
    """None until stored: a source loaded from the store keeps its row id."""
    finding_id: str = ""


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
    stored: bool = False
    """Loaded from the store (written back with an UPDATE checking `version_id`), not new."""


_FINDING_FIELDS = [f.name for f in fields(Draft) if f.name not in {"sources", "stored"}]
_SOURCE_FIELDS = [f.name for f in fields(DraftSource) if f.name not in {"id", "finding_id"}]
_FINDING_UPDATES = [n for n in _FINDING_FIELDS if n not in {"id", "key", "key_hash", "kind", "version_id"}]
_SOURCE_UPDATES = [n for n in _SOURCE_FIELDS if n not in {"tool", "uid", "uid_hash", "first_seen_at"}]


def load(
    session: Session, uid_hashes: list[str], key_hashes: list[str], chunk: int = 500
) -> tuple[dict[tuple[str, str], DraftSource], dict[str, Draft]]:
    """The stored sources with these uid hashes (by tool and uid hash), and the stored findings they belong
    to or that have these key hashes (by key hash), each with all its sources, as plain objects."""
    sources_table, findings_table = _table(FindingSource), _table(FindingRow)
    finding_ids: set[str] = set()
    for part in _parts(uid_hashes, chunk):
        query = select(sources_table.c.finding_id).where(sources_table.c.uid_hash.in_(part))
        finding_ids.update(session.scalars(query))
    findings: dict[str, Draft] = {}
    for column, values in ((findings_table.c.id, sorted(finding_ids)), (findings_table.c.key_hash, key_hashes)):
        for part in _parts([v for v in values if v not in findings], chunk):
            for row in session.execute(select(findings_table).where(column.in_(part))).mappings():
                draft = Draft(**row, stored=True)
                findings[draft.key_hash] = findings[draft.id] = draft
    by_id = {d.id: d for d in findings.values()}
    sources: dict[tuple[str, str], DraftSource] = {}
    query = select(sources_table).order_by(sources_table.c.id)
    for part in _parts(sorted(by_id), chunk):
        for row in session.execute(query.where(sources_table.c.finding_id.in_(part))).mappings():
            src = DraftSource(**row)
            by_id[src.finding_id].sources.append(src)
            sources[(src.tool, src.uid_hash)] = src
    return sources, {d.key_hash: d for d in by_id.values()}


def _parts(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def write(session: Session, drafts: list[Draft], history: list[dict[str, Any]], *, import_id: str) -> None:
    """Write an import's findings: new ones and their sources inserted, stored ones updated (each only if
    its `version_id` is still the one loaded, else StaleDataError), the sources this import wrote (those of
    `import_id`) updated or inserted, and the history rows; one executemany per table and statement."""
    if not drafts:
        return
    connection = session.connection()
    stored = [d for d in drafts if d.stored]
    if stored:
        _update_findings(connection, stored)
        _forget(session, stored)
    drafts = sorted(drafts, key=lambda d: d.key_hash)  # the order of the key index (and of new ids)
    new = [[getattr(d, k) for k in _FINDING_FIELDS] for d in drafts if not d.stored]
    insert_rows(connection, _table(FindingRow), new, _FINDING_FIELDS)
    inserts, updates = [], []
    for d in drafts:
        for s in d.sources:
            if s.id is None:
                inserts.append([*(getattr(s, k) for k in _SOURCE_FIELDS), d.id])
            elif s.import_id == import_id:
                updates.append([*(getattr(s, k) for k in _SOURCE_UPDATES), s.id])
    insert_rows(connection, _table(FindingSource), inserts, [*_SOURCE_FIELDS, "finding_id"])
    sets = ", ".join(f"{n} = {{p}}" for n in _SOURCE_UPDATES)
    run_many(
        connection,
        _table(FindingSource),
        f"UPDATE findings_sources SET {sets} WHERE id = {{p}}",
        updates,
        [*_SOURCE_UPDATES, "id"],
    )
    if history:
        names = list(history[0])
        ordered = sorted(history, key=lambda h: h["finding_id"])  # stable: one finding's rows keep their order
        insert_rows(connection, _table(FindingHistory), [[h[n] for n in names] for h in ordered], names)


def _update_findings(connection: Connection, stored: list[Draft]) -> None:
    """Stored findings written back, each bumping its version only if nobody moved it since it was loaded."""
    sets = ", ".join(f"{n} = {{p}}" for n in [*_FINDING_UPDATES, "version_id"])
    rows = [[*(getattr(d, k) for k in _FINDING_UPDATES), d.version_id + 1, d.id, d.version_id] for d in stored]
    sql = f"UPDATE findings_queue SET {sets} WHERE id = {{p}} AND version_id = {{p}}"
    count = run_many(connection, _table(FindingRow), sql, rows, [*_FINDING_UPDATES, "version_id", "id", "version_id"])
    if count != len(rows):
        raise StaleDataError(f"{len(rows) - count} of {len(rows)} findings changed since this import read them")
    for d in stored:
        d.version_id += 1


def _forget(session: Session, stored: list[Draft]) -> None:
    """Expire ORM copies of the findings written here (and their sources) that the session may hold."""
    ids = {d.id for d in stored}
    for obj in list(session.identity_map.values()):
        if (isinstance(obj, FindingRow) and obj.id in ids) or (
            isinstance(obj, FindingSource) and obj.finding_id in ids
        ):
            session.expire(obj)


def insert_rows(connection: Connection, table: Table, rows: list[list[Any]], names: list[str]) -> None:
    """One INSERT of `rows` (values in the order of `names`) as one executemany straight to the driver."""
    holders = ", ".join("{p}" for _ in names)
    run_many(connection, table, f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({holders})", rows, names)


def run_many(connection: Connection, table: Table, sql: str, rows: list[list[Any]], names: list[str]) -> int:
    """Execute `sql` (its placeholders written `{p}`, the columns of `names` in order) for every row, as
    one executemany of the driver; returns the rows it changed.

    Each value goes through its column type's own bind processor for this dialect (the same conversion an
    ORM or Core statement makes: JSON serialised, datetimes put in UTC), without SQLAlchemy building a
    parameter dictionary per row; a timestamp column's few distinct values are converted once each."""
    if not rows:
        return 0
    dialect = connection.dialect
    converters: list[Callable[[Any], Any] | None] = []
    for name in names:
        column = table.columns[name]
        process: Callable[[Any], Any] | None = column.type._cached_bind_processor(dialect)
        if process is not None and isinstance(column.type, UTCDateTime):
            process = _memoised(process)
        converters.append(process)
    pairs = [(i, c) for i, c in enumerate(converters) if c is not None]
    for row in rows:
        for i, convert in pairs:
            value = row[i]
            if value is not None:
                row[i] = convert(value)
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    result = connection.exec_driver_sql(sql.format(p=placeholder), [tuple(r) for r in rows])
    return int(result.rowcount)


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


__all__ = ["Draft", "DraftSource", "asdict", "insert_rows", "load", "run_many", "write"]
