"""`mamori findings ...`: parse a tool's document offline, or import it into the server's queue, and list it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from mamori import cli_support
from mamori.cli_support import err_console, handle_errors, print_json
from mamori.core.errors import InvalidInput
from mamori.core.runtime import Runtime
from mamori.findings import identity, ownership
from mamori.findings.schemas import finding_out, import_out
from mamori.findings.service import imports, intake, queries
from mamori.findings.service.queries import Filters

findings_app = typer.Typer(help="Security findings from every tool in one queue.", no_args_is_help=True)


@findings_app.callback()
def _group() -> None:
    """Security findings: ASFF, OCSF, GuardDuty, Config, CloudTrail detections, Dependabot, snyk."""


@contextmanager
def _server() -> Iterator[Runtime]:
    rt = cli_support.runtime()
    try:
        yield rt
    finally:
        rt.engine.dispose()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror})") from None


def _report_problems(problems: list[str]) -> None:
    for problem in problems:
        err_console.print(f"rejected {problem}", highlight=False, markup=False)


@findings_app.command("parse")
@handle_errors
def parse_command(
    path: Annotated[Path, typer.Argument(help="A JSON document from a tool.")],
    fmt: Annotated[str | None, typer.Option("--format", help="asff, ocsf, ...; detected when left out.")] = None,
    repository: Annotated[str, typer.Option("--repository", help="owner/name a `snyk test` ran on.")] = "",
) -> None:
    """Parse PATH without a server and print each finding's identity (without the server's ownership
    mapping, a dependency's location is its repository). Exit 2 when a record is rejected."""
    batch = intake.read(_read(path), fmt=fmt, name=str(path))
    for obs in batch.observations:
        imports.own(obs, ownership.Mapping(), repository)
    print_json(
        {
            "format": batch.format,
            "records": batch.total,
            "scan": batch.scan,
            "findings": [
                {
                    "tool": o.tool,
                    "uid": o.uid,
                    "kind": o.kind,
                    "status": o.status,
                    "severity": o.severity,
                    "key": identity.key_for(o),
                }
                for o in batch.observations
            ],
            "skipped": batch.skipped,
            "problems": [p.render() for p in batch.problems],
        }
    )
    _report_problems([p.render() for p in batch.problems])
    if batch.problems:
        raise typer.Exit(2)


@findings_app.command("import")
@handle_errors
def import_command(
    paths: Annotated[list[Path], typer.Argument(help="JSON documents from the tools.")],
    fmt: Annotated[str | None, typer.Option("--format", help="asff, ocsf, ...; detected when left out.")] = None,
    repository: Annotated[str, typer.Option("--repository", help="owner/name a `snyk test` ran on.")] = "",
) -> None:
    """Upload documents into the server's queue, one transaction each. Exit 2 when a record was rejected
    (the good records of the same document are stored)."""
    reports = []
    with _server() as rt:
        for path in paths:
            payload = _read(path)
            with intake.concurrent_changes_refused(), rt.sessions.begin() as session:
                report = intake.import_payload(
                    session,
                    payload=payload,
                    now=rt.now(),
                    actor="cli",
                    fmt=fmt,
                    name=path.name,
                    bus=rt.bus,
                    repository=repository,
                )
            reports.append({"file": str(path), **import_out(report)})
            _report_problems(report.problems)
    print_json(reports)
    if any(r["problems"] for r in reports):
        raise typer.Exit(2)


@findings_app.command("list")
@handle_errors
def list_command(
    state: Annotated[str, typer.Option("--state", help="open, suppressed, resolved, all, or a triage state")] = "open",
    service: Annotated[str | None, typer.Option("--service")] = None,
    tool: Annotated[str | None, typer.Option("--tool")] = None,
    sla: Annotated[str | None, typer.Option("--sla", help="overdue or due_soon")] = None,
) -> None:
    """The queue as JSON, most urgent first."""
    with _server() as rt, rt.sessions() as session:
        rows = queries.list_findings(
            session, filters=Filters(state=state, service=service, tool=tool, sla=sla), now=rt.now()
        )
        print_json([finding_out(f) for f in rows])
