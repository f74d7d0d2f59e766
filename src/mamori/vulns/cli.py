"""`mamori vulns ...`: the offline scan for CI pipelines."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mamori.cli_support import err_console, handle_errors, print_json
from mamori.vulns import scanning

vulns_app = typer.Typer(help="Dependency vulnerabilities: offline scans against OSV records.", no_args_is_help=True)


@vulns_app.callback()
def _group() -> None:
    """Dependency vulnerabilities and vendor incidents."""


class Format(StrEnum):
    json = "json"
    sarif = "sarif"
    table = "table"


class FailOn(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


@vulns_app.command("scan")
@handle_errors
def scan_command(
    path: Annotated[Path, typer.Argument(help="A lockfile, manifest, SBOM, or a directory searched recursively.")],
    advisories: Annotated[
        Path | None, typer.Option("--advisories", help="OSV records: JSON files or OSV zip exports.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="json, sarif or table.")] = Format.json,
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Exit 1 when a finding reaches this severity.")
    ] = None,
) -> None:
    """Scan lockfiles under PATH without a server. Exit 1 when a finding reaches --fail-on, 2 on bad input."""
    report = scanning.scan(path, advisories=advisories)
    for message in report.advisory_errors:
        err_console.print(f"warning: skipped invalid advisory: {message}", highlight=False, markup=False)
    for message in report.errors:
        err_console.print(f"error: {message}", highlight=False, markup=False)
    if fmt is Format.json:
        print_json(scanning.to_json(report))
    elif fmt is Format.sarif:
        sys.stdout.write(json.dumps(scanning.to_sarif(report), indent=2) + "\n")
    else:
        sys.stdout.write(scanning.to_table(report) + "\n")
    if fail_on is not None and report.reaches(fail_on.value):
        raise typer.Exit(1)
    if report.errors:
        raise typer.Exit(2)
