"""Storing a rescan writes changed rows by bulk UPDATE, not through ORM objects: what it writes is what a
reader sees afterwards, also an ORM copy of a finding loaded earlier in the same transaction."""

from __future__ import annotations

import json
import zlib

from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.sast.models import SastFinding, SastScanResult, SastSource
from mamori.sast.service import intake
from mamori.sast.service.scans import Upload


def _sarif(*places: tuple[str, int, str]) -> bytes:
    results = [
        {
            "ruleId": rule, "level": "error", "message": {"text": f"{rule} here"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/a.py"}, "region": {
                "startLine": line, "snippet": {"text": code}}}}],
            "partialFingerprints": {"primaryLocationLineHash": f"{zlib.crc32(code.encode()):x}:1"},
        }
        for rule, line, code in places
    ]  # fmt: skip
    return json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "T"}}, "results": results}]}).encode()


def test_a_rescan_moves_and_closes_rows_and_an_orm_copy_in_the_session_sees_it(runtime: Runtime) -> None:
    upload = Upload(repo="acme/store", commit="c1")
    with runtime.sessions.begin() as session:
        intake.upload(session, payload=_sarif(("R1", 10, "eval(x)"), ("R2", 20, "exec(y)")), upload=upload,
                      now=runtime.now(), bus=runtime.bus)  # fmt: skip
    with runtime.sessions.begin() as session:
        gone = session.scalars(select(SastFinding).where(SastFinding.rule == "t/R2")).one()
        assert gone.open and gone.state == "new"
        (scan,) = intake.upload(
            session, payload=_sarif(("R1", 14, "eval(x)")), upload=Upload(repo="acme/store", commit="c2"),
            now=runtime.now(), bus=runtime.bus,
        )  # fmt: skip
        assert scan.counts == {"new": 0, "unchanged": 0, "moved": 1, "reopened": 0, "fixed": 1}
        assert (gone.open, gone.state) == (False, "fixed")  # the ORM copy was expired, not left stale
    with runtime.sessions() as session:
        findings = {f.rule: (f.line, f.open, f.state) for f in session.scalars(select(SastFinding))}
        sources = {s.rule_key: (s.line, s.open, s.last_scan_id) for s in session.scalars(select(SastSource))}
        rows = session.scalars(select(SastScanResult).where(SastScanResult.scan_id == scan.id))
        statuses = sorted(r.status for r in rows)
    assert findings == {"t/R1": (14, True, "new"), "t/R2": (20, False, "fixed")}
    assert sources["t/R1"][:2] == (14, True) and sources["t/R1"][2] == scan.id
    assert sources["t/R2"][:2] == (20, False) and sources["t/R2"][2] != scan.id
    assert statuses == ["fixed", "moved"]

    with runtime.sessions.begin() as session:  # it comes back: reopened, one row each, still no duplicate
        (scan,) = intake.upload(
            session, payload=_sarif(("R1", 14, "eval(x)"), ("R2", 20, "exec(y)")),
            upload=Upload(repo="acme/store", commit="c3"), now=runtime.now(), bus=runtime.bus,
        )  # fmt: skip
        assert scan.counts["reopened"] == 1 and scan.counts["unchanged"] == 1
    with runtime.sessions() as session:
        again = session.scalars(select(SastFinding).where(SastFinding.rule == "t/R2")).one()
        assert (again.open, again.state, again.reopen_count) == (True, "new", 1)
        assert len(session.scalars(select(SastSource)).all()) == 2
