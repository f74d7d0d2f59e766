"""Shared builders for the vulns server-side tests: services, lockfiles and OSV records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mamori.core.models import Service, Team
from mamori.core.runtime import Runtime


def advisory(
    ident: str,
    package: str,
    *,
    fixed: str = "2.0.3",
    ecosystem: str = "PyPI",
    aliases: tuple[str, ...] = (),
    modified: str = "2026-01-01T00:00:00Z",
    vector: str | None = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    introduced: str = "0",
    withdrawn: str | None = None,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": ident,
        "modified": modified,
        "aliases": list(aliases),
        "summary": f"{ident} summary",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}],
            }
        ],
    }
    if vector:
        rec["severity"] = [{"type": "CVSS_V3", "score": vector}]
    if withdrawn:
        rec["withdrawn"] = withdrawn
    return rec


def write_advisories(folder: Path, *records: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for rec in records:
        (folder / f"{rec['id']}.json").write_text(json.dumps(rec))
    return folder


def seed_services(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        team = Team(name="backend", display_name="Backend", created_at=runtime.now())
        session.add(team)
        session.flush()
        session.add(
            Service(
                name="jobs-api",
                tier=1,
                repository="https://github.com/jobs/jobs-api.git",
                owner_team_id=team.id,
                created_at=runtime.now(),
            )
        )
        session.add(
            Service(name="matching-worker", tier=3, repository="git@github.com:jobs/matcher", created_at=runtime.now())
        )


def write_repos(root: Path, *, mistune: str = "2.0.2") -> Path:
    (root / "jobs-api").mkdir(parents=True, exist_ok=True)
    (root / "jobs-api" / "requirements.txt").write_text(f"mistune=={mistune}\nrequests==2.31.0\n")
    (root / "matcher").mkdir(exist_ok=True)
    (root / "matcher" / "requirements-dev.txt").write_text("mistune==2.0.2\n")
    return root
