"""Test and coverage report imports: each is parsed whole before anything is written, then stored in the
caller's transaction (a bad report stores nothing)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput, Problem, ValidationFailed
from mamori.core.events import EventBus
from mamori.delivery import codesize, kinds
from mamori.delivery.models import (
    DeliveryCodeStat,
    DeliveryCoverage,
    DeliveryImage,
    DeliveryJob,
    DeliveryRun,
    DeliveryTestCase,
    DeliveryTestRun,
)
from mamori.delivery.parsers import buildkit, buildx_history, codestats, coverage, junit
from mamori.delivery.records import JobRecord, RunRecord, StepRecord
from mamori.delivery.service.store import Store

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


def import_buildkit(
    session: Session, *, bus: EventBus, service: str, build: str, data: bytes, now: datetime, job: str = "docker build"
) -> DeliveryJob:
    """A BuildKit rawjson stream as one job of a build (recorded through the generic API's source): every
    vertex a step, cached ones marked. The build is created when it was not recorded yet."""
    try:
        vertices = buildkit.rawjson(data)
    except buildkit.BuildKitError as exc:
        raise ValidationFailed(
            "the BuildKit stream cannot be read", problems=[Problem(loc="rawjson", msg=str(exc))]
        ) from None
    timed = [v for v in vertices if v.started_at is not None]
    if not timed:
        raise ValidationFailed(
            "the BuildKit stream has no started vertex",
            problems=[Problem(loc="rawjson", msg="no vertexes with a start")],
        )
    start = min(v.started_at for v in timed if v.started_at)
    end = max((v.finished_at for v in timed if v.finished_at), default=None)
    failed = any(v.error for v in vertices)
    store = Store(session=session, policy=kinds.policy(session), bus=bus, source="api", now=now)
    steps = [
        StepRecord(
            number=i,
            name=v.name[:300],
            status="completed" if v.finished_at else "in_progress",
            conclusion=("failure" if v.error else "success") if v.finished_at else None,
            started_at=v.started_at,
            finished_at=v.finished_at,
            cached=v.cached,
        )
        for i, v in enumerate(timed, start=1)
    ]
    done = end is not None and all(v.finished_at for v in timed)
    return store.job(
        JobRecord(
            external_id=f"{build}/jobs/{job}",
            run_external_id=build,
            run_name=job,
            repo=None,
            branch=None,
            sha=None,
            name=job,
            status="completed" if done else "in_progress",
            conclusion=("failure" if failed else "success") if done else None,
            runner=None,
            created_at=start,
            started_at=start,
            finished_at=end,
            steps=steps,
            service=service,
        )
    )


def import_buildx_history(
    session: Session, *, bus: EventBus, service: str, data: bytes, now: datetime
) -> tuple[DeliveryRun, buildx_history.BuildRecord]:
    """A `docker buildx history inspect --format json` record as a build (its duration, outcome and commit)
    with its step and cached-step counts; the same record imported again updates the one build."""
    try:
        record = buildx_history.history_inspect(data)
    except buildkit.BuildKitError as exc:
        raise ValidationFailed(
            "the buildx history record cannot be read", problems=[Problem(loc="buildx history", msg=str(exc))]
        ) from None
    store = Store(session=session, policy=kinds.policy(session), bus=bus, source="api", now=now)
    run = store.run(
        RunRecord(
            external_id=f"buildx:{record.ref}", kind="build", repo=record.repo, name=record.name, branch=None,
            sha=record.sha, status=record.status, conclusion=record.conclusion, attempt=1,
            created_at=record.started_at, started_at=record.started_at, finished_at=record.finished_at,
            service=service,
        )
    )  # fmt: skip
    run.steps_total, run.steps_cached = record.steps_total, record.steps_cached
    session.flush()
    return run, record


def import_image(
    session: Session,
    *,
    service: str,
    data: bytes,
    kind: str,
    ref: str | None,
    push_seconds: float | None,
    now: datetime,
) -> DeliveryImage:
    """`docker image inspect` output (kind inspect) or a registry manifest (kind manifest)."""
    try:
        if kind == "inspect":
            images = buildkit.image_inspect(data)
            if not images:
                raise buildkit.BuildKitError("the inspect output lists no image")
            image = images[0]
        elif kind == "manifest":
            image = buildkit.manifest(data, ref=ref or "image")
        else:
            raise buildkit.BuildKitError(f"unknown kind {kind!r}; use inspect or manifest")
    except buildkit.BuildKitError as exc:
        raise ValidationFailed(
            "the image document cannot be read", problems=[Problem(loc=kind, msg=str(exc))]
        ) from None
    row = DeliveryImage(
        service=service,
        ref=(ref or image.ref)[:500],
        digest=image.digest,
        size=image.size,
        layers=image.layers,
        push_seconds=push_seconds,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def import_code_stat(
    session: Session, *, service: str, tool: str, data: bytes, sha: str | None, now: datetime
) -> DeliveryCodeStat:
    """cloc/tokei output (code lines per language) or RuboCop/ESLint output (offences per severity)."""
    try:
        if tool in codestats.SIZE_TOOLS:
            size = codestats.size(data, tool)
            kind, counts = "size", {name: lang.code for name, lang in size.languages.items()}
        else:
            kind, counts = "lint", codestats.lint(data, tool)
    except codestats.CodeStatsError as exc:
        raise ValidationFailed(
            f"the {tool} output cannot be read", problems=[Problem(loc=tool, msg=str(exc))]
        ) from None
    row = DeliveryCodeStat(
        service=service, kind=kind, tool=tool, sha=sha, counts=counts, total=sum(counts.values()), recorded_at=now
    )
    session.add(row)
    session.flush()
    return row


def record_size(session: Session, *, service: str, root: Path, sha: str | None, now: datetime) -> DeliveryCodeStat:
    """Mamori's own count of a checkout (code lines per language; `codesize`), stored as tool `mamori`."""
    try:
        size = codesize.count_checkout(root)
    except FileNotFoundError as exc:
        raise InvalidInput(str(exc)) from None
    counts = {name: lang.code for name, lang in sorted(size.languages.items())}
    row = DeliveryCodeStat(
        service=service, kind="size", tool="mamori", sha=sha or codesize.head_sha(root), counts=counts,
        total=sum(counts.values()), recorded_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def record_lint_counts(
    session: Session, *, service: str, tool: str, counts: dict[str, int], sha: str | None, now: datetime
) -> DeliveryCodeStat:
    """Static-analysis counts per severity that another domain counted (the sast domain's scans, by event)."""
    row = DeliveryCodeStat(
        service=service, kind="lint", tool=tool[:40], sha=sha, counts=dict(counts), total=sum(counts.values()),
        recorded_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row
