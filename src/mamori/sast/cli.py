"""`mamori sast ...`: upload scanner output from CI, gate a pull request, score the tools."""

from __future__ import annotations

import typer

sast_app = typer.Typer(help="Static analysis: scanner intake, PR gates, tool scorecards.", no_args_is_help=True)


@sast_app.callback()
def _group() -> None:
    """Static analysis findings (SARIF and native scanner output)."""
