"""Test and coverage report imports: each is parsed whole before anything is written, then stored in the
caller's transaction (a bad report stores nothing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mamori.core.errors import Problem, ValidationFailed
from mamori.delivery import coverage, junit
from mamori.delivery.models import DeliveryCoverage, DeliveryTestCase, DeliveryTestRun

MAX_FILES_KEPT = 5000


def import_junit(
    session: Session,
    *,
    service: str,
    data: bytes,
    sha: str | None,
    branch: str | None,
    name: str,
    now: datetime,
) -> DeliveryTestRun:
    try:
        report = junit.parse(data)
    except junit.JUnitError as exc:
        raise ValidationFailed(
            "the test report cannot be read", problems=[Problem(loc=name or "report", msg=str(exc))]
        ) from None
    flaky = set(report.flaky)
    run = DeliveryTestRun(
        service=service,
        sha=sha,
        branch=branch,
        name=name[:300],
        tests=len(report.cases),
        failures=report.count("failed"),
        errors=report.count("error"),
        skipped=report.count("skipped"),
        duration_s=report.duration_s,
        recorded_at=now,
    )
    session.add(run)
    session.flush()
    session.add_all(
        DeliveryTestCase(
            run_id=run.id,
            test_id=c.test_id[:1000],
            outcome=c.outcome,
            duration_s=c.duration_s,
            attempts=c.attempts,
            flaky=c.test_id in flaky,
        )
        for c in report.cases
    )
    session.flush()
    return run


def import_coverage(
    session: Session, *, service: str, data: bytes, sha: str | None, fmt: str | None, now: datetime
) -> DeliveryCoverage:
    try:
        report = coverage.parse(data, fmt)
    except coverage.CoverageError as exc:
        raise ValidationFailed(
            "the coverage report cannot be read", problems=[Problem(loc=fmt or "report", msg=str(exc))]
        ) from None
    files = {
        path: [f.lines_valid, f.lines_covered, f.branches_valid, f.branches_covered]
        for path, f in list(report.files.items())[:MAX_FILES_KEPT]
    }
    row = DeliveryCoverage(
        service=service,
        sha=sha,
        format=report.format,
        lines_covered=report.lines_covered,
        lines_valid=report.lines_valid,
        branches_covered=report.branches_covered,
        branches_valid=report.branches_valid,
        files=files,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    return row
