"""`mamori flags ...`: offline evaluation, code scanning, and flag changes against the configured database."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from mamori import cli_support
from mamori.core.audit import Actor
from mamori.core.errors import Problem, ValidationFailed
from mamori.flags import flagd_format, scan, service, stale
from mamori.flags.flagset import read_flagd_file

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
        runtime = cli_support.runtime()
        with runtime.sessions() as session:
            known = set(service.get_environment(session, environment=environment).document.get("flags", {}))
    cli_support.print_json(scan.report(scan.scan_tree(path), known))


def _actor() -> Actor:
    return Actor(name=getpass.getuser(), source="cli")


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
    runtime = cli_support.runtime()
    with runtime.sessions.begin() as session:
        change = service.toggle(
            session,
            environment=environment,
            key=flag,
            enabled=state == "on",
            actor=_actor(),
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
    runtime = cli_support.runtime()
    with runtime.sessions.begin() as session:
        change = service.set_rollout(
            session,
            environment=environment,
            key=flag,
            percent=percent,
            actor=_actor(),
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
    runtime = cli_support.runtime()
    with runtime.sessions.begin() as session:
        change = service.promote(
            session, key=flag, source=source, target=target, actor=_actor(), reason=reason, now=runtime.now()
        )
        cli_support.print_json({"change": change.id, "status": change.status})


@flags_app.command("stale")
@cli_support.handle_errors
def stale_command(days: Annotated[int, typer.Option("--days", min=1)] = 30) -> None:
    """Flags not evaluated for DAYS days, or fully on everywhere for DAYS days."""
    runtime = cli_support.runtime()
    with runtime.sessions() as session:
        cli_support.print_json(stale.find_stale(session, days=days, now=runtime.now()))
