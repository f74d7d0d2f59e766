"""`mamori delivery ...`: record deploys, builds and steps from any CI, print a service's measures, and show a
GitHub integration's webhook secret."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from mamori import cli_support
from mamori.core import jobs as core_jobs
from mamori.core.errors import InvalidInput, Problem, ValidationFailed
from mamori.delivery import jobs, kinds
from mamori.delivery.parsers import github
from mamori.delivery.records import parse_time
from mamori.delivery.schemas import BuildIn, DeployIn, StepIn, coverage_out, effect_out, junit_report_out, measures_out
from mamori.delivery.service import effects, generic, measures, reports

delivery_app = typer.Typer(help="Delivery measures: DORA, builds step by step, tests, coverage.", no_args_is_help=True)
record_app = typer.Typer(help="Record a deploy, build, step or test report from any CI.", no_args_is_help=True)
delivery_app.add_typer(record_app, name="record")

Service = Annotated[str, typer.Option("--service", help="the service (as in the catalog)")]
Start = Annotated[str | None, typer.Option("--start", help="ISO 8601 start, e.g. 2026-12-07T10:00:00Z")]
End = Annotated[str | None, typer.Option("--end", help="ISO 8601 end (now when left out)")]


def _model(model: type[Any], values: dict[str, Any]) -> Any:
    """Validate command-line values with the API's model, naming each option that is wrong."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        problems = [
            Problem(
                loc="--" + ".".join(str(p) for p in e["loc"]).replace("_", "-") if e["loc"] else "(options)",
                msg=e["msg"],
            )
            for e in exc.errors()
        ]
        raise ValidationFailed("invalid options", problems=problems) from None


def _now_if(value: str | None) -> str:
    return value or datetime.now().astimezone().isoformat()


@record_app.command("deploy")
@cli_support.handle_errors
def record_deploy(  # noqa: PLR0917 - Typer passes the options by name
    service: Service,
    environment: Annotated[str, typer.Option("--environment", "--env")],
    status: Annotated[str, typer.Option("--status", help="success or failure")],
    sha: Annotated[str | None, typer.Option("--sha")] = None,
    version: Annotated[str | None, typer.Option("--version")] = None,
    branch: Annotated[str | None, typer.Option("--branch")] = None,
    repo: Annotated[str | None, typer.Option("--repo", help="owner/name")] = None,
    start: Start = None,
    end: End = None,
    deploy_id: Annotated[str | None, typer.Option("--id", help="your id for the deploy")] = None,
    rollback: Annotated[bool, typer.Option("--rollback")] = False,
    hotfix: Annotated[bool, typer.Option("--hotfix")] = False,
) -> None:
    """Record a finished deploy; prints {status, id}."""
    body = _model(
        DeployIn,
        {
            "id": deploy_id,
            "service": service,
            "environment": environment,
            "status": status,
            "sha": sha,
            "version": version,
            "branch": branch,
            "repo": repo,
            "started_at": start,
            "finished_at": _now_if(end),
            "rollback": rollback,
            "hotfix": hotfix,
        },
    )
    runtime = cli_support.runtime()
    with runtime.sessions.begin() as session:
        row, new = generic.record_deploy(session, bus=runtime.bus, body=body, now=runtime.now())
        cli_support.print_json({"status": "stored" if new else "duplicate", "id": row.id})


@record_app.command("build")
@cli_support.handle_errors
def record_build(  # noqa: PLR0917 - Typer passes the options by name
    service: Service,
    build_id: Annotated[str, typer.Option("--id", help="the build's id in your CI")],
    status: Annotated[str, typer.Option("--status", help="success, failure, cancelled or skipped")],
    name: Annotated[str, typer.Option("--name")] = "build",
    sha: Annotated[str | None, typer.Option("--sha")] = None,
    branch: Annotated[str | None, typer.Option("--branch")] = None,
    start: Start = None,
    end: End = None,
) -> None:
    """Record a build (a CI run); steps are added with `record step --build ID`."""
    body = _model(
        BuildIn,
        {
            "id": build_id,
            "service": service,
            "name": name,
            "status": status,
            "sha": sha,
            "branch": branch,
            "started_at": _now_if(start),
            "finished_at": end,
        },
    )
    runtime = cli_support.runtime()
    with runtime.sessions.begin() as session:
        row = generic.record_build(session, bus=runtime.bus, body=body, now=runtime.now())
        cli_support.print_json({"status": "stored", "id": row.id})


@record_app.command("step")
@cli_support.handle_errors
def record_step(  # noqa: PLR0917 - Typer passes the options by name
    service: Service,
    build: Annotated[str, typer.Option("--build", help="the build's id")],
    name: Annotated[str, typer.Option("--name")],
    status: Annotated[str, typer.Option("--status")],
    start: Annotated[str, typer.Option("--start")],
    end: Annotated[str, typer.Option("--end")],
    job: Annotated[str, typer.Option("--job")] = "build",
    number: Annotated[int | None, typer.Option("--number")] = None,
    cached: Annotated[bool | None, typer.Option("--cached/--not-cached")] = None,
) -> None:
    """Record one step of a build, with its start and end (and whether its cache was hit)."""
    body = _model(
        StepIn,
        {
            "build": build,
            "service": service,
            "name": name,
            "job": job,
            "number": number,
            "status": status,
            "cached": cached,
            "started_at": start,
            "finished_at": end,
        },
    )
    runtime = cli_support.runtime()
    with runtime.sessions.begin() as session:
        row = generic.record_step(session, bus=runtime.bus, body=body, now=runtime.now())
        cli_support.print_json({"status": "stored", "id": str(row.id)})


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read: {exc.strerror}") from None


@record_app.command("test")
@cli_support.handle_errors
def record_test(
    service: Service,
    reports_: Annotated[list[Path], typer.Argument(metavar="JUNIT_XML...", help="JUnit XML reports")],
    sha: Annotated[str | None, typer.Option("--sha")] = None,
    branch: Annotated[str | None, typer.Option("--branch")] = None,
) -> None:
    """Import JUnit XML reports (all or none: one unreadable report stores nothing)."""
    runtime = cli_support.runtime()
    data = [(p.name, _read(p)) for p in reports_]
    with runtime.sessions.begin() as session:
        out = []
        for name, body in data:
            run = reports.import_junit(
                session, service=service, data=body, sha=sha, branch=branch, name=name, now=runtime.now()
            )
            out.append(junit_report_out(session, run).model_dump(mode="json"))
        cli_support.print_json(out)


@record_app.command("coverage")
@cli_support.handle_errors
def record_coverage(
    service: Service,
    report: Annotated[Path, typer.Argument(help="Cobertura XML, LCOV, coverage.py JSON or JaCoCo XML")],
    sha: Annotated[str | None, typer.Option("--sha")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="detected when left out")] = None,
) -> None:
    """Import a coverage report."""
    runtime = cli_support.runtime()
    body = _read(report)
    with runtime.sessions.begin() as session:
        row = reports.import_coverage(session, service=service, data=body, sha=sha, fmt=fmt, now=runtime.now())
        cli_support.print_json(coverage_out(row).model_dump(mode="json"))


@record_app.command("code")
@cli_support.handle_errors
def record_code(
    service: Service,
    tool: Annotated[str, typer.Option("--tool", help="cloc, tokei (code size) or rubocop, eslint (offences)")],
    document: Annotated[Path, typer.Argument(help="the tool's JSON output")],
    sha: Annotated[str | None, typer.Option("--sha")] = None,
) -> None:
    """Record code size per language or static-analysis offences per severity."""
    runtime = cli_support.runtime()
    body = _read(document)
    with runtime.sessions.begin() as session:
        row = reports.import_code_stat(session, service=service, tool=tool, data=body, sha=sha, now=runtime.now())
        cli_support.print_json({"status": "stored", "kind": row.kind, "total": row.total, "counts": row.counts})


@record_app.command("size")
@cli_support.handle_errors
def record_size(
    service: Service,
    path: Annotated[Path, typer.Option("--path", help="the checkout to count (git ls-files when it is a git one)")],
    sha: Annotated[str | None, typer.Option("--sha", help="the commit (HEAD of the checkout when left out)")] = None,
) -> None:
    """Count code lines per language in a checkout (Mamori's own count; cloc's language names)."""
    runtime = cli_support.runtime()
    with runtime.sessions.begin() as session:
        row = reports.record_size(session, service=service, root=path, sha=sha, now=runtime.now())
        cli_support.print_json({"status": "stored", "tool": row.tool, "sha": row.sha, "total": row.total,
                                "counts": row.counts})  # fmt: skip


@record_app.command("buildkit")
@cli_support.handle_errors
def record_buildkit(
    service: Service,
    build: Annotated[str, typer.Option("--build", help="the build's id")],
    stream: Annotated[Path, typer.Argument(help="the output of docker buildx build --progress=rawjson")],
) -> None:
    """Import a BuildKit rawjson stream as the steps (cached or not) of a build's docker job."""
    runtime = cli_support.runtime()
    body = _read(stream)
    with runtime.sessions.begin() as session:
        job = reports.import_buildkit(
            session, bus=runtime.bus, service=service, build=build, data=body, now=runtime.now()
        )
        cli_support.print_json({"status": "stored", "job": job.id})


@record_app.command("buildx-history")
@cli_support.handle_errors
def record_buildx_history(
    service: Service,
    record: Annotated[Path, typer.Argument(help="the output of docker buildx history inspect --format json")],
) -> None:
    """Import a buildx build record: the build's duration, outcome, commit and cached steps."""
    runtime = cli_support.runtime()
    body = _read(record)
    with runtime.sessions.begin() as session:
        run, found = reports.import_buildx_history(session, bus=runtime.bus, service=service, data=body,
                                                   now=runtime.now())  # fmt: skip
        cli_support.print_json({"status": "stored", "run": run.id, "steps": found.steps_total,
                                "cached": found.steps_cached})  # fmt: skip


@record_app.command("image")
@cli_support.handle_errors
def record_image(
    service: Service,
    document: Annotated[Path, typer.Argument(help="docker image inspect output, or a registry manifest")],
    kind: Annotated[str, typer.Option("--kind", help="inspect or manifest")] = "inspect",
    ref: Annotated[str | None, typer.Option("--ref", help="the image reference")] = None,
    push_seconds: Annotated[float | None, typer.Option("--push-seconds", min=0)] = None,
) -> None:
    """Record an image's size (and its layers' sizes from a manifest) and how long its push took."""
    runtime = cli_support.runtime()
    body = _read(document)
    with runtime.sessions.begin() as session:
        row = reports.import_image(
            session, service=service, data=body, kind=kind, ref=ref, push_seconds=push_seconds, now=runtime.now()
        )
        cli_support.print_json({"status": "stored", "id": row.id, "size": row.size, "layers": len(row.layers)})


@delivery_app.command("measures")
@cli_support.handle_errors
def measures_command(
    service: Annotated[str, typer.Argument(help="the service")],
    days: Annotated[int | None, typer.Option("--days", min=1, max=366)] = None,
) -> None:
    """Print a service's DORA measures (with bands) and pull request phases as JSON."""
    runtime = cli_support.runtime()
    with runtime.sessions() as session:
        policy = kinds.policy(session)
        end = runtime.now()
        start = end - timedelta(days=days or policy.window_days)
        result = measures.measure(session, service=service, start=start, end=end, policy=policy)
        cli_support.print_json(measures_out(result).model_dump(mode="json"))


@delivery_app.command("backfill")
@cli_support.handle_errors
def backfill_command(repo: Annotated[str, typer.Argument(help="owner/name")]) -> None:
    """Queue a GitHub REST backfill of a repository's PRs, runs and deploys (the worker runs it)."""
    runtime = cli_support.runtime()
    with runtime.sessions.begin() as session:
        job = core_jobs.enqueue(session, kind=jobs.BACKFILL_JOB, payload=jobs.Backfill(repo=repo), now=runtime.now())
        cli_support.print_json({"status": "queued", "job": job.id, "repo": repo})


@delivery_app.command("github-secret")
@cli_support.handle_errors
def github_secret(
    integration: Annotated[str, typer.Argument(help="the name in /hooks/github/<name>")] = "default",
) -> None:
    """The secret to set on a GitHub webhook that posts to /hooks/github/<integration>."""
    secret = github.integration_secret(cli_support.settings().signing_key(), integration)
    cli_support.print_json(
        {"integration": integration, "path": f"/hooks/github/{integration}", "secret": secret.decode()}
    )


@delivery_app.command("improvement")
@cli_support.handle_errors
def improvement_command(
    service: Service,
    title: Annotated[str, typer.Option("--title", help='what changed, e.g. "enabled BuildKit cache mounts"')],
    measure: Annotated[str, typer.Option("--measure", help=effects.MEASURE_HELP)],
    at: Annotated[str, typer.Option("--at", help="ISO 8601 moment of the change")],
    by: Annotated[str, typer.Option("--by", help="who marks it")] = "cli",
) -> None:
    """Mark an improvement and print its effect so far."""
    try:
        moment = parse_time(at)
    except ValueError as exc:
        raise ValidationFailed("invalid options", problems=[Problem(loc="--at", msg=str(exc))]) from None
    runtime = cli_support.runtime()
    with runtime.sessions.begin() as session:
        row = effects.create_improvement(
            session, service=service, title=title, measure=measure, at=moment, by=by, now=runtime.now()
        )
        cli_support.print_json(effect_out(*effects.effect_of(session, improvement_id=row.id)).model_dump(mode="json"))


@delivery_app.command("effect")
@cli_support.handle_errors
def effect_command(
    improvement: Annotated[str, typer.Argument(help="the improvement's id")],
    days: Annotated[int, typer.Option("--days", min=1, max=366)] = 30,
) -> None:
    """Print an improvement's before/after report (medians, rank test, bootstrap interval, sample sizes)."""
    runtime = cli_support.runtime()
    with runtime.sessions() as session:
        cli_support.print_json(
            effect_out(*effects.effect_of(session, improvement_id=improvement, window_days=days)).model_dump(
                mode="json"
            )
        )
