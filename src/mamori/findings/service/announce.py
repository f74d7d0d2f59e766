"""What an import tells the rest of Mamori: an event per finding opened or resolved (published in the
import's transaction) and one timeline entry per import that opened or closed something."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mamori.core import timeline
from mamori.core.events import Event, EventBus
from mamori.findings.events import SecurityFindingOpened, SecurityFindingResolved
from mamori.findings.service.merge import FindingLike

if TYPE_CHECKING:
    from mamori.findings.service.imports import ImportReport


def finding_event(cls: type[SecurityFindingOpened | SecurityFindingResolved], f: FindingLike, now: datetime) -> Event:
    return cls(
        finding_id=f.id,
        kind=f.kind,
        title=f.title,
        service=f.service,
        team=f.team,
        tools=list(f.tools or []),
        severity=f.severity,
        priority=f.priority,
        at=now,
    )


def announce(
    session: Session, report: ImportReport, bus: EventBus | None, events: list[Event], *, now: datetime, name: str
) -> None:
    if bus is not None:
        for event in events:
            bus.publish(session, event, now=now)
    if report.created or report.resolved or report.reopened:
        timeline.record(
            session,
            at=now,
            kind="findings_import",
            source="findings",
            title=f"{report.format} import{' of ' + name if name else ''}: {report.created} new, "
            f"{report.resolved} resolved, {report.reopened} reopened",
            data=report.counts(),
            ref="/findings",
        )
