"""`mamori alerts ...`, `mamori oncall ...`, `mamori incidents ...`: thin edges over offline and service."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from mamori import cli_support as cs
from mamori.core import manifest
from mamori.core.clock import SystemClock
from mamori.core.errors import InvalidInput
from mamori.incidents import offline
from mamori.incidents.response import service as response
from mamori.incidents.schemas import IncidentOut

alerts_app = typer.Typer(no_args_is_help=True, help="Alert routing.")
oncall_app = typer.Typer(no_args_is_help=True, help="On-call schedules.")

ConfigDir = Annotated[Path, typer.Option("--config", help="Directory (or file) of configuration documents.")]
Format = Annotated[str, typer.Option("--format", help="json")]


def _bundle(config: Path) -> manifest.Bundle:
    return manifest.load(config, cs.runtime().kinds)


def _check_format(fmt: str) -> None:
    if fmt != "json":
        raise InvalidInput(f"unsupported --format {fmt!r}; use json")


@alerts_app.command("route")
@cs.handle_errors
def route(
    config: ConfigDir,
    payload: Annotated[Path, typer.Option("--payload", help="Alertmanager webhook JSON or a list of alerts.")],
    route_name: Annotated[str | None, typer.Option("--route", help="AlertRoute name if there are several.")] = None,
    fmt: Format = "json",
) -> None:
    """Show where each alert of a payload would go, without a database."""
    _check_format(fmt)
    try:
        body = json.loads(payload.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{payload}: cannot read JSON payload: {exc}") from None
    cs.print_json(offline.route_payload(_bundle(config), body, route_name=route_name))


@oncall_app.command("who")
@cs.handle_errors
def who(
    config: ConfigDir,
    schedule: Annotated[str, typer.Option("--schedule")],
    at: Annotated[str, typer.Option("--at", help="RFC 3339 instant.")],
    fmt: Format = "json",
) -> None:
    """Who is on call in a schedule at an instant."""
    _check_format(fmt)
    cs.print_json(offline.who(_bundle(config), schedule, at))


@oncall_app.command("shifts")
@cs.handle_errors
def shifts(
    config: ConfigDir,
    schedule: Annotated[str, typer.Option("--schedule")],
    start: Annotated[str, typer.Option("--from", help="RFC 3339 instant.")],
    end: Annotated[str, typer.Option("--to", help="RFC 3339 instant.")],
    fmt: Annotated[str, typer.Option("--format", help="json, or ical for an iCalendar file")] = "json",
) -> None:
    """The final shifts of a schedule (layers, restrictions and overrides applied); gaps have user null."""
    if fmt == "ical":
        now = SystemClock().now()
        sys.stdout.flush()
        sys.stdout.buffer.write(offline.shifts_ical(_bundle(config), schedule, start, end, now=now).encode())
        sys.stdout.buffer.flush()
        return
    _check_format(fmt)
    cs.print_json(offline.shifts(_bundle(config), schedule, start, end))


incidents_app = typer.Typer(no_args_is_help=True, help="Incidents.")


@incidents_app.command("declare")
@cs.handle_errors
def declare(  # noqa: PLR0917 (Typer maps parameters to options)
    title: Annotated[str, typer.Option("--title")],
    severity: Annotated[str, typer.Option("--severity")] = "SEV3",
    service_name: Annotated[str | None, typer.Option("--service")] = None,
    group: Annotated[str | None, typer.Option("--group", help="Alert group id to declare from.")] = None,
    commander: Annotated[str | None, typer.Option("--commander", help="Incident Commander's email.")] = None,
    fmt: Format = "json",
) -> None:
    """Declare an incident by hand or from an alert group."""
    _check_format(fmt)
    rt = cs.runtime()
    with rt.sessions.begin() as session:
        incident = response.declare(
            session,
            rt,
            title=title,
            severity=severity,
            service=service_name,
            group_id=group,
            commander=commander,
            actor=cs.actor(rt),
            now=rt.now(),
        )
        out = IncidentOut.model_validate(incident).model_dump(mode="json")
    cs.print_json(out)
