"""What every CLI command shares: building the runtime, printing JSON, and turning errors into exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from mamori.core.config import Settings, load_settings
from mamori.core.errors import MamoriError
from mamori.core.runtime import Runtime

P = ParamSpec("P")
R = TypeVar("R")
err_console = Console(stderr=True, soft_wrap=True)
_opened: list[Runtime] = []
out_console = Console(soft_wrap=True)


def settings() -> Settings:
    return load_settings()


def runtime() -> Runtime:
    # The composition root imports every domain (and so their CLI modules, which import
    # this one); importing it when a command runs, not at import time, breaks that cycle.
    from mamori.wiring import build_runtime

    built = build_runtime(settings())
    _opened.append(built)
    return built


def _close_opened() -> None:
    """Close the connection pools of the runtimes a command built (handle_errors calls this)."""
    while _opened:
        _opened.pop().engine.dispose()


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
        finally:
            _close_opened()

    return wrapper
