"""`mamori gamedays ...`: list scenarios and drills, start or schedule a drill, reveal clues, record steps, abort,
finish, import a Chaos Toolkit journal, score, print a report (Markdown or JSON) or the trends, and turn a Wheel
of Misfortune incident list into tabletop scenarios."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml

from mamori import cli_support
from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput
from mamori.core.runtime import Runtime
from mamori.gamedays import wheel
from mamori.gamedays.service import drills, entries, reports

gamedays_app = typer.Typer(
    help="Game days: incident drills through the real incident flow, scored.", no_args_is_help=True
)


@contextlib.contextmanager
def _runtime() -> Iterator[Runtime]:
    runtime = cli_support.runtime()
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


def _actor(runtime: Runtime) -> Actor:
    """The Mamori user or token the command acts as (MAMORI_TOKEN, MAMORI_USER), never the Unix login."""
    return cli_support.actor(runtime)


@gamedays_app.command("scenarios")
@cli_support.handle_errors
def scenarios_command() -> None:
    """The applied GameDay scenarios, as JSON."""
    with _runtime() as runtime, runtime.sessions() as session:
        cli_support.print_json([s.model_dump(mode="json") for s in drills.scenarios(session)])


@gamedays_app.command("list")
@cli_support.handle_errors
def list_command(
    status: Annotated[str | None, typer.Option(help="scheduled | running | finished | aborted")] = None,
) -> None:
    """Drills, newest first, as JSON."""
    with _runtime() as runtime, runtime.sessions() as session:
        rows = [drills.describe(session, d).model_dump(mode="json") for d in drills.list_drills(session, status=status)]
        cli_support.print_json(rows)


@gamedays_app.command("start")
@cli_support.handle_errors
def start_command(
    scenario: Annotated[str, typer.Argument(help="the GameDay document's name")],
    at: Annotated[str | None, typer.Option("--at", help="start at this time (ISO 8601 with an offset)")] = None,
    now: Annotated[bool, typer.Option("--now", help="start now, whatever the scenario's schedule says")] = False,
) -> None:
    """Start a drill now, or schedule it (the scenario's schedule, or --at)."""
    start_at = None
    if at is not None:
        try:
            start_at = datetime.fromisoformat(at)
        except ValueError:
            raise InvalidInput(f"--at: {at!r} is not an ISO 8601 time") from None
        if start_at.tzinfo is None:
            raise InvalidInput("--at needs an offset (Z or +01:00)")
    with _runtime() as runtime, runtime.sessions.begin() as session:
        when = runtime.now() if now else start_at
        drill = drills.create(
            session, runtime, scenario=scenario, actor=_actor(runtime), now=runtime.now(), start_at=when
        )
        cli_support.print_json(drills.describe(session, drill).model_dump(mode="json"))


@gamedays_app.command("start-scheduled")
@cli_support.handle_errors
def start_scheduled_command(drill_id: str) -> None:
    """Start a scheduled drill now instead of at its time."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        drill = drills.start(
            session, runtime, drill=drills.get(session, drill_id, lock=True), actor=_actor(runtime), now=runtime.now()
        )
        cli_support.print_json(drills.describe(session, drill).model_dump(mode="json"))


@gamedays_app.command("debrief")
@cli_support.handle_errors
def debrief_command(
    drill_id: str,
    notes: Annotated[str, typer.Option(help="the debrief's notes (Markdown)")] = "",
    action_item: Annotated[list[str] | None, typer.Option("--action-item", help="an action item (repeat)")] = None,
) -> None:
    """Write the debrief's notes and action items (replacing what was there)."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        version = drills.get(session, drill_id).version
        drill = reports.update_debrief(
            session,
            drill_id=drill_id,
            notes=notes,
            action_items=list(action_item or []),
            version=version,
            now=runtime.now(),
        )
        cli_support.print_json({"id": drill.id, "notes": drill.notes, "action_items": drill.action_items})


@gamedays_app.command("reveal")
@cli_support.handle_errors
def reveal_command(drill_id: str, inject_id: str) -> None:
    """Reveal a clue (or fire a pending inject now)."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        drill = drills.reveal(
            session, runtime, drill_id=drill_id, inject_id=inject_id, actor=_actor(runtime), now=runtime.now()
        )
        cli_support.print_json(drills.describe(session, drill).model_dump(mode="json"))


@gamedays_app.command("record")
@cli_support.handle_errors
def record_command(
    drill_id: str,
    name: Annotated[str, typer.Argument(help="the action's name, the flag's key or the frozen service")],
    kind: Annotated[str, typer.Option(help="action | flag_changed | release_frozen | note")] = "action",
    by: Annotated[str | None, typer.Option(help="who did it (default: you)")] = None,
) -> None:
    """Record a step done during a drill (a runbook step, a credential rotated, a flag flipped)."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        drill = drills.get(session, drill_id)
        entry = entries.record(
            session, drill=drill, kind=kind, name=name, caller=_actor(runtime).name, by=by, at=runtime.now()
        )
        cli_support.print_json({"id": entry.id, "kind": entry.kind, "text": entry.text})


@gamedays_app.command("abort")
@cli_support.handle_errors
def abort_command(drill_id: str, reason: Annotated[str, typer.Option(help="why the drill stops")]) -> None:
    """The abort switch: stop all injects, resolve the drill's alerts and incidents."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        drill = drills.abort(
            session, runtime, drill_id=drill_id, reason=reason, actor=_actor(runtime), now=runtime.now()
        )
        cli_support.print_json(drills.describe(session, drill).model_dump(mode="json"))


@gamedays_app.command("finish")
@cli_support.handle_errors
def finish_command(drill_id: str) -> None:
    """End a running drill (its alerts and incidents are resolved)."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        drill = drills.finish(session, runtime, drill_id=drill_id, actor=_actor(runtime), now=runtime.now())
        cli_support.print_json(drills.describe(session, drill).model_dump(mode="json"))


@gamedays_app.command("import-journal")
@cli_support.handle_errors
def import_journal_command(
    drill_id: str, journal: Annotated[Path, typer.Argument(help="a Chaos Toolkit journal.json")]
) -> None:
    """Put a Chaos Toolkit run's journal onto the drill's timeline."""
    try:
        text = journal.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{journal}: cannot read: {exc}") from None
    with _runtime() as runtime, runtime.sessions.begin() as session:
        added = entries.import_journal(
            session, drill=drills.get(session, drill_id), text=text, actor=_actor(runtime).name
        )
        cli_support.print_json({"added": added})


@gamedays_app.command("score")
@cli_support.handle_errors
def score_command(
    drill_id: str,
    current: Annotated[bool, typer.Option("--current-scenario", help="judge by the scenario as applied now")] = False,
) -> None:
    """Score a drill from its recorded timeline (again, after a scoring rule changed) and keep the score."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        if current:
            reports.adopt_current_scenario(session, drill_id=drill_id, actor=_actor(runtime).name, now=runtime.now())
        result = reports.score(session, drill_id=drill_id, now=runtime.now())
        teams = reports.teams_of(session, [p.user for p in result.participants])
        cli_support.print_json(reports.score_json(result, teams))


@gamedays_app.command("report")
@cli_support.handle_errors
def report_command(
    drill_id: str, output: Annotated[str, typer.Option("--format", help="markdown | json")] = "markdown"
) -> None:
    """The drill's report: expectations with evidence, participants, timeline, debrief."""
    if output not in ("markdown", "json"):
        raise InvalidInput("--format must be markdown or json")
    with _runtime() as runtime, runtime.sessions() as session:
        if output == "json":
            cli_support.print_json(reports.report_json(session, drill_id=drill_id, now=runtime.now()))
        else:
            typer.echo(reports.report_markdown(session, drill_id=drill_id, now=runtime.now()), nl=False)


@gamedays_app.command("trends")
@cli_support.handle_errors
def trends_command(scenario: Annotated[str | None, typer.Option(help="only this scenario's drills")] = None) -> None:
    """Times to acknowledge, declare and mitigate from drill to drill, and who never practised a role."""
    with _runtime() as runtime, runtime.sessions() as session:
        points = reports.trends(session, now=runtime.now(), scenario=scenario)
        cli_support.print_json(
            {
                "drills": [
                    {
                        "drill_id": p.drill_id,
                        "title": p.title,
                        "started_at": p.started_at.isoformat(),
                        "team_percent": p.team_percent,
                        "time_to_acknowledge_seconds": reports.seconds(p.time_to_acknowledge),
                        "time_to_declare_seconds": reports.seconds(p.time_to_declare),
                        "time_to_mitigate_seconds": reports.seconds(p.time_to_mitigate),
                    }
                    for p in points
                ],
                "never_practised": reports.never_practised(session),
            }
        )


@gamedays_app.command("from-wheel")
@cli_support.handle_errors
def from_wheel_command(
    incidents: Annotated[Path, typer.Argument(help="a Wheel of Misfortune incidents JSON list")],
    game_master: Annotated[str, typer.Option("--game-master", help="who runs the tabletop")],
    responder: Annotated[list[str], typer.Option("--responder", help="a responder (repeat for more)")],
    out: Annotated[Path | None, typer.Option("--out", help="write the YAML here (default: print it)")] = None,
) -> None:
    """Turn a Wheel of Misfortune incident list into tabletop GameDay documents (then `mamori validate` them)."""
    try:
        items = json.loads(incidents.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{incidents}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{incidents}: not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    try:
        docs = wheel.to_documents(items, wheel.Wheel(game_master=game_master, responders=tuple(responder)))
    except ValueError as exc:
        raise InvalidInput(f"{incidents}: {exc}") from None
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(docs)} GameDay documents written to {out}")
