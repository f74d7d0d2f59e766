"""What every CLI command shares: building the runtime, printing JSON, and turning errors into exit codes.

The root CLI (`mamori.cli`) hands this module the composition root's factories with `configure`, so the
domains' commands never import `mamori.wiring` themselves (that would be a cycle: wiring imports the
plugins, which import their CLI modules, which import this one)."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from mamori.core import auth
from mamori.core.audit import Actor
from mamori.core.config import Settings, load_settings
from mamori.core.errors import MamoriError, Unauthenticated
from mamori.core.manifest import KindRegistry
from mamori.core.runtime import Runtime

P = ParamSpec("P")
R = TypeVar("R")
err_console = Console(stderr=True, soft_wrap=True)
_opened: list[Runtime] = []
out_console = Console(soft_wrap=True)


def settings() -> Settings:
    return load_settings()


class _Factories:
    build_runtime: Callable[[Settings], Runtime] | None = None
    kinds: Callable[[], KindRegistry] | None = None


def configure(*, build_runtime: Callable[[Settings], Runtime], kinds: Callable[[], KindRegistry]) -> None:
    """Called once by the root CLI: how commands build the runtime, and the kinds for offline commands."""
    _Factories.build_runtime, _Factories.kinds = build_runtime, kinds


def runtime() -> Runtime:
    """The runtime for this command (database and all); closed when the command ends."""
    if _Factories.build_runtime is None:
        raise RuntimeError("no runtime factory: the root CLI (mamori.cli) calls cli_support.configure() at import")
    built = _Factories.build_runtime(settings())
    _opened.append(built)
    return built


def kinds() -> KindRegistry:
    """Every configuration kind, for commands that only read files (no database engine is built)."""
    if _Factories.kinds is None:
        raise RuntimeError("no kinds factory: the root CLI (mamori.cli) calls cli_support.configure() at import")
    return _Factories.kinds()


def _close_opened() -> None:
    """Close the connection pools of the runtimes a command built (handle_errors calls this)."""
    while _opened:
        runtime = _opened.pop()
        runtime.close_http()
        runtime.engine.dispose()


USER_ENV, TOKEN_ENV = "MAMORI_USER", "MAMORI_TOKEN"
CLI_ACTOR = Actor(name="cli", source="cli")


def actor(rt: Runtime) -> Actor:
    """Who a command acts as, in the audit log and on timelines: the Mamori user of the API token in
    MAMORI_TOKEN (or `token:<name>` for a token of no user), else the Mamori user named by MAMORI_USER (an
    email or id; it must exist and be active), else `cli`. Never the Unix login: it names nobody in Mamori."""
    token, user = os.environ.get(TOKEN_ENV, "").strip(), os.environ.get(USER_ENV, "").strip()
    with rt.sessions() as session:  # read only: nothing is kept (the command's own transaction may be open)
        if token:
            found = auth.authenticate_token(session, token, now=rt.now())
            name = found.user.email if found.user is not None else f"token:{found.name}"
            return Actor(name=name, source="cli")
        if user:
            person = auth.find_user(session, user)
            if person is None or not person.active:
                raise Unauthenticated(f"{USER_ENV}={user!r}: no active Mamori user by that email or id")
            return Actor(name=person.email, source="cli")
    return CLI_ACTOR


DATABASE_UNAVAILABLE = 6
"""Exit code of a command whose database could not be reached (or was read-only, or locked past its timeout)."""


def _database_label() -> str:
    """The database URL with its password hidden."""
    try:
        return make_url(settings().resolved_database_url).render_as_string(hide_password=True)
    except Exception:  # the settings themselves are broken: say so without guessing
        return "(the configured URL)"


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Show a MamoriError as a message with its problems and exit with its code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except MamoriError as exc:
            err_console.print(f"[bold red]error:[/] {exc.detail}", highlight=False, markup=True)
            for problem in exc.problems:
                err_console.print(f"  - {problem.render()}", highlight=False, markup=False)
            raise typer.Exit(exc.exit_code) from None
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
            err_console.print(f"error: cannot use the database at {_database_label()}: {reason}", markup=False)
            raise typer.Exit(DATABASE_UNAVAILABLE) from None
        finally:
            _close_opened()

    return wrapper
