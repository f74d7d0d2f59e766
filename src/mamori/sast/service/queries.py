"""Read-only questions about SAST data: which tools report a finding, a finding's history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.sast.models import SastSource


def tools_by_finding(session: Session, finding_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for start in range(0, len(finding_ids), 500):
        chunk = finding_ids[start : start + 500]
        for finding_id, tool in session.execute(
            select(SastSource.finding_id, SastSource.tool).where(SastSource.finding_id.in_(chunk))
        ):
            out.setdefault(finding_id, set()).add(tool)
    return {k: sorted(v) for k, v in out.items()}
