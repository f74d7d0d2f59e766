"""`mamori flags ...`: offline evaluation, code scanning, and flag changes against the configured database."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from mamori import cli_support
from mamori.core.audit import Actor
from mamori.core.errors import Problem, ValidationFailed
from mamori.core.runtime import Runtime
from mamori.flags import flagd_format, ramps, scan, service, serving, stale
from mamori.flags.kinds import read_flagd_file

flags_app = typer.Typer(help="Feature flags: evaluate offline, scan code, change flags.", no_args_is_help=True)


def _load_flags(path: Path, fractional: str | None) -> tuple[dict[str, Any], str]:
    """A flagd file, or a FlagSet document (inline flagd or its file), and the fractional scheme to use."""
    try:
        raw = read_flagd_file(path)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    scheme = "cbor"
    if isinstance(raw, dict) and raw.get("kind") == "FlagSet":
        spec = raw.get("spec") or {}
        scheme = spec.get("fractional", "cbor")
        if "file" in spec:
            try:
                raw = read_flagd_file(path.parent / str(spec["file"]))
            except ValueError as exc:
                raise ValidationFailed(str(exc)) from exc
        else:
            raw = spec.get("flagd")
    problems = [Problem(loc=loc, msg=msg, file=str(path)) for loc, msg in flagd_format.problems(raw)]
    if problems:
        raise ValidationFailed(f"{path} is not a valid flagd flag set", problems=problems)
    scheme = fractional or scheme
    if scheme not in ("cbor", "legacy"):
        raise ValidationFailed(f"--fractional must be cbor or legacy, not {scheme!r}")
    return flagd_format.normalize(raw), scheme


@flags_app.command("eval")
@cli_support.handle_errors
def eval_command(
    flags: Annotated[Path, typer.Option("--flags", help="flagd file (JSON/YAML) or a FlagSet document")],
    flag: Annotated[str, typer.Option("--flag", help="flag key")],
    context: Annotated[str, typer.Option("--context", help="evaluation context as a JSON object")] = "{}",
    fractional: Annotated[str | None, typer.Option("--fractional", help="cbor | legacy")] = None,
    output: Annotated[str, typer.Option("--format", help="json | text")] = "json",
) -> None:
    """Evaluate one flag offline, printing {key, value, variant, reason, error_code}."""
    try:
        ctx = json.loads(context)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"--context is not valid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(ctx, dict):
        raise ValidationFailed("--context must be a JSON object")
    document, scheme = _load_flags(flags, fractional)
    result = service.try_evaluate_document(document, scheme, flag, ctx)
    out = {
        "key": result.key,
        "value": result.value,
        "variant": result.variant,
        "reason": result.reason,
        "error_code": result.error_code,
    }
    if output == "json":
        cli_support.print_json(out)
    else:
        cli_support.out_console.print(yaml.safe_dump(out, sort_keys=False).strip(), highlight=False, markup=False)
    if result.error_code == "PARSE_ERROR":
        raise typer.Exit(2)


@flags_app.command("scan-code")
@cli_support.handle_errors
def scan_code_command(
    path: Annotated[Path, typer.Argument(help="source tree to scan (Ruby, TypeScript/JavaScript, Python)")],
    flags: Annotated[Path | None, typer.Option("--flags", help="flagd file to compare with")] = None,
    environment: Annotated[str | None, typer.Option("--environment", help="compare with this environment")] = None,
) -> None:
    """List flag keys used in code, flags no code uses, and code using flags Mamori does not know."""
    known: set[str] | None = None
    if flags is not None:
        known = set(_load_flags(flags, None)[0].get("flags", {}))
    elif environment is not None:
        with _runtime() as runtime, runtime.sessions() as session:
            known = set(serving.get_environment(session, environment=environment).document.get("flags", {}))
    cli_support.print_json(scan.report(scan.scan_tree(path), known))


@contextlib.contextmanager
def _runtime() -> Iterator[Runtime]:
    """The configured runtime, its connections closed when the command ends."""
    runtime = cli_support.runtime()
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


def _actor(runtime: Runtime) -> Actor:
    """The Mamori user or token the command acts as (MAMORI_TOKEN, MAMORI_USER), never the Unix login."""
    return cli_support.actor(runtime)


@flags_app.command("toggle")
@cli_support.handle_errors
def toggle_command(
    environment: Annotated[str, typer.Argument()],
    flag: Annotated[str, typer.Argument()],
    state: Annotated[str, typer.Argument(help="on | off")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Kill switch: enable or disable one flag in one environment."""
    if state not in ("on", "off"):
        raise ValidationFailed("state must be on or off")
    with _runtime() as runtime, runtime.sessions.begin() as session:
        change = service.toggle(
            session,
            environment=environment,
            key=flag,
            enabled=state == "on",
            actor=_actor(runtime),
            reason=reason,
            now=runtime.now(),
        )
        cli_support.print_json({"change": change.id, "status": change.status})


@flags_app.command("rollout")
@cli_support.handle_errors
def rollout_command(
    environment: Annotated[str, typer.Argument()],
    flag: Annotated[str, typer.Argument()],
    percent: Annotated[int, typer.Argument(min=0, max=100)],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Serve the flag's on-variant to PERCENT% of targeting keys."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        change = service.set_rollout(
            session,
            environment=environment,
            key=flag,
            percent=percent,
            actor=_actor(runtime),
            reason=reason,
            now=runtime.now(),
        )
        cli_support.print_json({"change": change.id, "status": change.status})


@flags_app.command("promote")
@cli_support.handle_errors
def promote_command(
    flag: Annotated[str, typer.Argument()],
    source: Annotated[str, typer.Option("--from")],
    target: Annotated[str, typer.Option("--to")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Copy one flag's configuration from one environment to another."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        change = service.promote(
            session, key=flag, source=source, target=target, actor=_actor(runtime), reason=reason, now=runtime.now()
        )
        cli_support.print_json({"change": change.id, "status": change.status})


@flags_app.command("stale")
@cli_support.handle_errors
def stale_command(days: Annotated[int, typer.Option("--days", min=1)] = 30) -> None:
    """Flags not evaluated for DAYS days, or fully on everywhere for DAYS days."""
    with _runtime() as runtime, runtime.sessions() as session:
        cli_support.print_json(stale.find_stale(session, days=days, now=runtime.now()))


@flags_app.command("approve")
@cli_support.handle_errors
def approve_command(
    change_id: Annotated[str, typer.Argument()],
    reject: Annotated[bool, typer.Option("--reject", help="reject instead of approve")] = False,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Approve (or --reject) a change waiting for a second person."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        change = ramps.decide_change(
            session, change_id=change_id, approve=not reject, actor=_actor(runtime), now=runtime.now(), reason=reason
        )
        cli_support.print_json({"change": change.id, "status": change.status})


@flags_app.command("ramp")
@cli_support.handle_errors
def ramp_command(
    environment: Annotated[str, typer.Argument()],
    flag: Annotated[str, typer.Argument()],
    *,
    steps: Annotated[str, typer.Option("--steps", help="percentages, e.g. 5,25,50,100")] = "5,25,50,100",
    interval: Annotated[str, typer.Option("--interval", help="time between steps, e.g. 1h")] = "1h",
    guard: Annotated[str, typer.Option("--guard", help="pause | revert | none on burn alert or freeze")] = "pause",
    service_name: Annotated[str | None, typer.Option("--service", help="service whose health guards it")] = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Start a percentage ramp that advances by itself and halts when its service burns or freezes."""
    try:
        percents = [int(p) for p in steps.split(",") if p.strip()]
    except ValueError as exc:
        raise ValidationFailed(f"--steps takes comma-separated integers, not {steps!r}") from exc
    with _runtime() as runtime, runtime.sessions.begin() as session:
        ramp = ramps.start_ramp(
            session,
            environment=environment,
            key=flag,
            steps=percents,
            interval=interval,
            service_name=service_name,
            guard=guard,
            actor=_actor(runtime),
            reason=reason,
            now=runtime.now(),
        )
        cli_support.print_json({"ramp": ramp.id, "status": ramp.status, "percent": ramp.steps[ramp.step_index]})


@flags_app.command("schedule")
@cli_support.handle_errors
def schedule_command(
    environment: Annotated[str, typer.Argument()],
    flag: Annotated[str, typer.Argument()],
    *,
    at: Annotated[str, typer.Option("--at", help="RFC 3339 time, e.g. 2026-12-01T10:00+09:00")],
    action: Annotated[str, typer.Option("--action", help="enable | disable | rollout")],
    percent: Annotated[int | None, typer.Option("--percent", min=0, max=100)] = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Schedule a change: enable, disable or set a rollout percentage at a given time."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        job = ramps.schedule_change(
            session,
            environment=environment,
            key=flag,
            at=at,
            action=action,
            percent=percent,
            actor=_actor(runtime),
            reason=reason,
            now=runtime.now(),
        )
        cli_support.print_json({"job": job})
