"""Findings and sources as plain rows for storing a scan: read with Core, changed in memory, written back by
one INSERT executemany for the new rows and one UPDATE executemany per set of changed columns. A rescan of
50,000 results builds no ORM object and loads none (the unit of work cost 8 ms per changed row)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from mamori.sast.models import SastFinding, SastSource

Model = type[SastFinding] | type[SastSource]


def table_of(model: type[Any]) -> Table:
    """The model's Core table (statements on it skip the ORM's per-row bookkeeping)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Row:
    """One row's columns as attributes; `write` records a change for `write_changes` (a new row is inserted
    whole by `insert_new`, so its writes are not recorded)."""

    __slots__ = ("__dict__", "_changes", "_new")  # the columns alone are in __dict__

    def __init__(self, data: dict[str, Any], *, new: bool = False) -> None:
        self.__dict__.update(data)
        self._changes: dict[str, Any] = {}
        self._new = new

    def __getattr__(self, name: str) -> Any:  # only for a name that is not a column (typing: rows are dynamic)
        raise AttributeError(name)

    def write(self, name: str, value: object) -> None:
        self.__dict__[name] = value
        if not self._new:
            self._changes[name] = value

    def values(self) -> dict[str, Any]:
        return dict(self.__dict__)


SKIPPED = {
    "sast_findings": ("reason", "accepted_until", "triaged_by", "triaged_at", "due_at", "first_commit",
                      "first_seen_at", "last_seen_at", "version", "owasp"),
    "sast_sources": ("repo", "tool", "category", "first_scan_id", "last_scan_id", "first_seen_at", "last_seen_at"),
}  # fmt: skip
"""Columns storing a scan never reads of an existing row (triage, SLA and first/last seen: the dates alone
were a fifth of reading 50,000 rows); a loaded row has no such attribute, so a read of one fails loudly."""


def load(session: Session, model: Model, *where: Any) -> list[Row]:
    table = table_of(model)
    skipped = SKIPPED[table.name]
    columns = [c for c in table.columns if c.name not in skipped]
    return [Row(dict(r._mapping)) for r in session.execute(select(*columns).where(*where))]


def insert_new(session: Session, model: Model, rows: list[Row]) -> None:
    """INSERT every new row by one executemany (parents first: the caller inserts findings before sources)."""
    if rows:  # Core, not the ORM's bulk insert: no unit-of-work bookkeeping per row
        session.execute(insert(table_of(model)), [r.values() for r in rows])
        for r in rows:
            r._new = False


def write_changes(session: Session, model: Model, rows: Iterable[Row]) -> int:
    """UPDATE the changed columns of existing rows by primary key, one executemany per set of columns; an ORM
    copy of a changed row already in the session is expired so that nothing reads its old values."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if row._changes:
            groups.setdefault(tuple(sorted(row._changes)), []).append({"id": row.id, **row._changes})
            row._changes = {}
    table = table_of(model)
    for names, params in groups.items():
        stmt = update(table).where(table.c.id == bindparam("row_id")).values({n: bindparam(f"new_{n}") for n in names})
        session.execute(stmt, [{"row_id": p["id"], **{f"new_{n}": p[n] for n in names}} for p in params])
    if groups and session.identity_map:
        changed = {p["id"] for params in groups.values() for p in params}
        for obj in list(session.identity_map.values()):
            if isinstance(obj, model) and obj.id in changed:
                session.expire(obj)
    return sum(len(p) for p in groups.values())
