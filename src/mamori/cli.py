"""`mamori ...`: the root command; each domain adds its own group through its plugin."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from mamori import cli_support as cs
from mamori import demo as demo_data
from mamori.core import auth, manifest, migrate
from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput, ValidationFailed
from mamori.core.worker import Worker
from mamori.web.app import create_app
from mamori.wiring import DOMAIN_PLUGINS, build_runtime, config_warnings, kind_registry, start

cs.configure(build_runtime=build_runtime, kinds=kind_registry)

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Mamori: reliability and security for product teams."
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
admin_app = typer.Typer(no_args_is_help=True, help="Users and API tokens.")
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")

ConfigDir = Annotated[Path, typer.Option("--config", help="Directory (or file) of configuration documents.")]
CLI = Actor(name="cli", source="cli")


@db_app.command("upgrade")
@cs.handle_errors
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision."""
    rt = cs.runtime()
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(rt.engine)
    cs.err_console.print("database is up to date")


def _store_configured() -> bool:
    """A database is configured: MAMORI_DATABASE_URL is set, or the default SQLite file exists."""
    settings = cs.settings()
    return bool(settings.database_url) or (settings.data_dir / "mamori.db").exists()


@app.command()
@cs.handle_errors
def validate(
    config: ConfigDir,
    strict: Annotated[bool, typer.Option("--strict", help="Fail (exit code 2) on warnings too.")] = False,
) -> None:
    """Check configuration documents; print every problem with file, document and field. When a database is
    configured, references may name objects already stored there (an SLO's service, a route's policy); it
    warns for every service whose SLOs reach no person."""
    if not _store_configured():
        bundle = manifest.load(config, cs.kinds())
        warnings, against = config_warnings(bundle, None), "files"
    else:
        rt = cs.runtime()
        try:
            with rt.sessions() as session:
                stored = manifest.stored_names(session)
                bundle = manifest.load(config, rt.kinds, stored=stored)
                warnings, against = config_warnings(bundle, session), "files and database"
        except SQLAlchemyError as exc:  # unreachable, or not migrated yet: say so and check the files alone
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            cs.err_console.print(f"note: cannot read the database ({reason}); checking the files alone", markup=False)
            bundle = manifest.load(config, rt.kinds)
            warnings, against = config_warnings(bundle, None), "files"
    for warning in warnings:
        cs.err_console.print(f"warning: {warning}", highlight=False, markup=False)
    documents = [f"{d.kind}/{d.name}" for d in bundle.documents]
    cs.print_json({"valid": True, "checked_against": against, "documents": documents, "warnings": warnings})
    if strict and warnings:
        raise ValidationFailed(f"{len(warnings)} warning(s) and --strict")


@app.command()
@cs.handle_errors
def apply(
    config: ConfigDir,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; store nothing.")] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Remove objects config created and no longer declares, of the kinds this folder holds."
        ),
    ] = False,
    prune_kind: Annotated[
        list[str] | None, typer.Option("--prune-kind", help="Prune only this kind (repeatable); implies --prune.")
    ] = None,
) -> None:
    """Load configuration into Mamori, all or nothing."""
    rt = cs.runtime()
    migrate.upgrade(rt.engine)
    docs = manifest.parse_documents(config, rt.kinds)
    pruned = set(prune_kind) if prune_kind else ({d.kind for d in docs} if prune else set())
    with rt.sessions() as session:  # references may name what is stored and stays (not what this apply prunes)
        stored = manifest.stored_names(session, except_kinds=pruned)
    bundle = manifest.validate(docs, rt.kinds, stored=stored)
    report = manifest.apply(
        rt,
        bundle,
        actor=Actor(name="config", source="config"),
        dry_run=dry_run,
        prune=prune or bool(prune_kind),
        prune_kinds=prune_kind or None,
    )
    cs.print_json(report.as_dict())


@app.command()
@cs.handle_errors
def delete(
    kind: Annotated[str, typer.Argument(help="The kind, as in a document's `kind:` (FlagSet, Schedule, ...).")],
    name: Annotated[str, typer.Argument(help="The object's metadata.name.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would go; remove nothing.")] = False,
) -> None:
    """Remove one configuration object, as pruning would (audited; the last admin is never removed)."""
    rt = cs.runtime()
    migrate.upgrade(rt.engine)
    report = manifest.delete(rt, kind=kind, name=name, actor=Actor(name="config", source="config"), dry_run=dry_run)
    cs.print_json(report.as_dict())


@admin_app.command("create-user")
@cs.handle_errors
def create_user(
    email: Annotated[str, typer.Option("--email")],
    name: Annotated[str, typer.Option("--name")],
    role: Annotated[str, typer.Option("--role")] = "viewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user (optionally with a password for browser login)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        raise InvalidInput("--password-stdin given but stdin was empty")
    rt = cs.runtime()
    migrate.upgrade(rt.engine)
    with rt.sessions.begin() as session:
        user = auth.create_user(session, email=email, name=name, role=role, password=password, now=rt.now(), actor=CLI)
        cs.err_console.print(f"created user {user.email} ({user.role})")


@admin_app.command("create-token")
@cs.handle_errors
def create_token(
    scope: Annotated[
        list[str], typer.Option("--scope", help="read, write, admin, ingest or flags:evaluate; repeatable.")
    ],
    email: Annotated[str | None, typer.Option("--email", help="The user the token acts as.")] = None,
    name: Annotated[str, typer.Option("--name")] = "",
    environment: Annotated[str | None, typer.Option("--environment", help="For flags:evaluate SDK keys.")] = None,
    expires_days: Annotated[int | None, typer.Option("--expires-days", min=1)] = None,
) -> None:
    """Create an API token and print only the token (it is not shown again)."""
    rt = cs.runtime()
    migrate.upgrade(rt.engine)
    scopes = [s.strip() for item in scope for s in item.split(",") if s.strip()]
    if email is None and scopes != ["flags:evaluate"]:
        raise InvalidInput("--email is required except for flags:evaluate SDK keys")
    with rt.sessions.begin() as session:
        user = auth.get_user(session, email) if email else None
        issued = auth.create_token(
            session,
            user=user,
            scopes=scopes,
            name=name,
            environment=environment,
            expires_in=timedelta(days=expires_days) if expires_days else None,
            now=rt.now(),
            actor=CLI,
        )
        secret = issued.secret
    sys.stdout.write(secret + "\n")


@app.command()
@cs.handle_errors
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run a job worker in-process.")] = True,
) -> None:
    """Run the HTTP server (and by default a job worker)."""
    rt = cs.runtime()
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(rt.engine)
    start(rt)
    logging.basicConfig(level=rt.settings.log_level)
    uvicorn.run(
        create_app(rt, run_worker=worker and rt.settings.run_worker),
        host=host,
        port=port,
        log_level=rt.settings.log_level.lower(),
    )


@app.command("worker")
@cs.handle_errors
def run_worker(
    worker_id: Annotated[str | None, typer.Option("--id")] = None,
    once: Annotated[bool, typer.Option("--once", help="Run due jobs, then exit.")] = False,
) -> None:
    """Run a job worker alone (several may run against PostgreSQL)."""
    rt = cs.runtime()
    migrate.upgrade(rt.engine)
    start(rt)
    logging.basicConfig(level=rt.settings.log_level)
    w = Worker(rt, worker_id=worker_id)
    if once:
        cs.print_json({"ran": w.run_until_idle()})
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    w.run_forever(stop)


@app.command()
@cs.handle_errors
def demo(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8080,
    seed_only: Annotated[bool, typer.Option("--seed-only", help="Seed the demo data and exit.")] = False,
    reset: Annotated[
        bool, typer.Option("--reset", help="Drop every table of the database first and seed afresh.")
    ] = False,
) -> None:
    """Seed the demo organisation into the data directory and serve it. Run again, it keeps what you changed;
    `--reset` starts from a clean database."""
    rt = cs.runtime()
    rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
    if reset:
        migrate.drop_everything(rt.engine)
    migrate.upgrade(rt.engine)
    demo_data.install_inbox(rt)
    login = demo_data.seed(rt)
    start(rt)
    url = f"http://{host}:{port}/"
    cs.out_console.print(
        f"\nMamori demo at [bold]{url}[/]\nlog in as [bold]{login.email}[/] / [bold]{login.password}[/]\n"
    )
    if seed_only:
        return
    logging.basicConfig(level=rt.settings.log_level)
    uvicorn.run(create_app(rt, run_worker=True), host=host, port=port, log_level="warning")


def _add_domain_commands() -> None:
    for make in DOMAIN_PLUGINS:
        for name, command in make().commands.items():
            if isinstance(command, typer.Typer):
                app.add_typer(command, name=name)
            else:
                app.command(name)(command)


_add_domain_commands()


def main() -> None:
    app()
