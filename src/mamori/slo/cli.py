"""`mamori slo ...` and `mamori ingest FILE`: thin edges over the slo service."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mamori import cli_support as cs
from mamori.core import migrate
from mamori.core.clock import parse_instant
from mamori.core.duration import parse_duration
from mamori.core.errors import InvalidInput
from mamori.slo import service
from mamori.slo.service import freezes, review

slo_app = typer.Typer(no_args_is_help=True, help="Service level objectives: evaluate, export, review.")

freeze_app = typer.Typer(no_args_is_help=True, help="Release freezes: list, lift or bypass one with a reason.")
slo_app.add_typer(freeze_app, name="freeze")

ConfigDir = Annotated[Path, typer.Option("--config", help="Directory (or file) of OpenSLO documents.")]


@slo_app.command("evaluate")
@cs.handle_errors
def evaluate(
    config: ConfigDir,
    events: Annotated[Path, typer.Option("--events", help="NDJSON events file (.gz accepted).")],
    at: Annotated[str, typer.Option("--at", help="RFC 3339 instant to evaluate at.")],
    output: Annotated[str, typer.Option("--format", help="json (the only format).")] = "json",
) -> None:
    """Evaluate every SLO objective in CONFIG over an events file, offline; prints a JSON array."""
    if output != "json":
        raise InvalidInput(f"unknown --format {output!r}; use json")
    rt = cs.runtime()
    rt.engine.dispose()  # offline: only the kind registry is used, never the database
    cs.print_json(service.evaluate_offline(config=config, events=events, at=parse_instant(at), kinds=rt.kinds))


@cs.handle_errors
def ingest(
    file: Annotated[Path, typer.Argument(help="NDJSON events file (.gz accepted); '-' reads stdin.")],
) -> None:
    """Count request events into the SLO buckets; a bad line refuses the whole file."""
    data = sys.stdin.buffer.read() if str(file) == "-" else service.read_events_file(file)
    rt = cs.runtime()
    try:
        migrate.upgrade(rt.engine)
        with rt.sessions.begin() as session:
            summary = service.ingest(session, data=data, source=str(file), plans=rt.state(service.Plans))
    finally:
        rt.engine.dispose()
    cs.print_json(summary)


@slo_app.command("export-prometheus")
@cs.handle_errors
def export_prometheus(config: ConfigDir) -> None:
    """Print Prometheus recording and alerting rules (Sloth-equivalent) for the Prometheus SLOs in CONFIG."""
    rt = cs.runtime()
    rt.engine.dispose()
    text, skipped = service.export_prometheus(config=config, kinds=rt.kinds)
    for note in skipped:
        cs.err_console.print(f"skipped {note}", highlight=False, markup=False)
    sys.stdout.write(text)


@slo_app.command("review")
@cs.handle_errors
def review_period(
    since: Annotated[str, typer.Option("--since", help="RFC 3339 start of the period (inclusive).")],
    until: Annotated[str, typer.Option("--until", help="RFC 3339 end of the period (exclusive).")],
    output: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
) -> None:
    """Review every SLO over a period: attainment, budget used, alerts, incidents, deploys, suggestions."""
    if output not in ("markdown", "json"):
        raise InvalidInput(f"unknown --format {output!r}; use markdown or json")
    start, end = parse_instant(since), parse_instant(until)
    rt = cs.runtime()
    try:
        migrate.upgrade(rt.engine)
        with rt.sessions() as session:
            items = review.review(session, since=start, until=end, plans=rt.state(service.Plans))
    finally:
        rt.engine.dispose()
    if output == "json":
        cs.print_json(review.as_json(items))
    else:
        sys.stdout.write(review.as_markdown(items, since=start, until=end))


By = Annotated[str, typer.Option("--by", help="Your Mamori user (email or handle): recorded in the audit log.")]
Reason = Annotated[str, typer.Option("--reason", help="Why, e.g. 'hotfix for INC-12' (required).")]


@freeze_app.command("list")
@cs.handle_errors
def freeze_list(service_name: Annotated[str | None, typer.Option("--service")] = None) -> None:
    """The release freezes still holding, with their cause and usable bypass (JSON)."""
    rt = cs.runtime()
    migrate.upgrade(rt.engine)
    with rt.sessions() as session:
        cs.print_json([v.as_json() for v in freezes.active(session, now=rt.now(), service=service_name)])


@freeze_app.command("lift")
@cs.handle_errors
def freeze_lift(freeze_id: Annotated[int, typer.Argument(help="The freeze's id.")], by: By, reason: Reason) -> None:
    """End a release freeze now (its policy episode stays open until the budget recovers)."""
    rt = cs.runtime()
    migrate.upgrade(rt.engine)
    with rt.sessions.begin() as session:
        actor = freezes.person(session, ref=by, freeze_id=freeze_id, action="lift")
        freeze = freezes.lift(session, rt.bus, freeze_id=freeze_id, actor=actor, reason=reason, now=rt.now())
        cs.print_json({"id": freeze.id, "service": freeze.service, "lifted_by": freeze.lifted_by, "reason": reason})


@freeze_app.command("bypass")
@cs.handle_errors
def freeze_bypass(
    freeze_id: Annotated[int, typer.Argument(help="The freeze's id.")],
    by: By,
    reason: Reason,
    expires_in: Annotated[str, typer.Option("--for", help="How long, e.g. 2h or 30m (at most 72h).")] = "2h",
    deploys: Annotated[int | None, typer.Option("--deploys", help="Deploys it lets through (default: any).")] = None,
) -> None:
    """Let deploys through a release freeze for a while; the deploy gate names you, the reason and the expiry."""
    try:
        duration = parse_duration(expires_in)
    except ValueError as exc:
        raise InvalidInput(f"--for {expires_in!r}: {exc}") from None
    rt = cs.runtime()
    migrate.upgrade(rt.engine)
    with rt.sessions.begin() as session:
        actor = freezes.person(session, ref=by, freeze_id=freeze_id, action="bypass")
        row = freezes.bypass(
            session, freeze_id=freeze_id, actor=actor, reason=reason, expires_in=duration, max_deploys=deploys,
            now=rt.now(),
        )  # fmt: skip
        cs.print_json({"freeze": freeze_id, "bypass": row.id, "detail": "allowed: " + freezes.describe(row)})
