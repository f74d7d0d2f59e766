"""`mamori sast ...`: upload scanner output from CI, gate a pull request, triage, score the tools."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mamori import cli_support
from mamori.cli_support import handle_errors, print_json
from mamori.core.audit import Actor
from mamori.core.errors import InvalidInput
from mamori.sast import gate_report
from mamori.sast.schemas import FindingOut, ScanOut
from mamori.sast.service import gate, intake, queries, triage
from mamori.sast.service.scans import Upload

sast_app = typer.Typer(help="Static analysis: scanner intake, PR gates, tool scorecards.", no_args_is_help=True)

GATE_BLOCKED = 1
"""Exit code of a gate that found new findings that block (every other failure has its error's code)."""


@sast_app.callback()
def _group() -> None:
    """Static analysis findings (SARIF and native scanner output)."""


class GateFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"


@sast_app.command("upload")
@handle_errors
def upload_command(  # noqa: PLR0917 - Typer passes options by name
    files: Annotated[list[Path], typer.Argument(help="SARIF 2.1.0 or native JSON reports (Semgrep, Bandit, ...).")],
    repo: Annotated[str, typer.Option("--repo", help="The repository, as owner/name.")],
    commit: Annotated[str, typer.Option("--commit", help="The scanned commit SHA.")],
    branch: Annotated[str | None, typer.Option("--branch")] = None,
    pr: Annotated[int | None, typer.Option("--pr", help="The pull request (a PR scan closes nothing).")] = None,
    category: Annotated[str | None, typer.Option("--category", help="Overrides SARIF automationDetails.id.")] = None,
    checkout: Annotated[
        Path | None, typer.Option("--checkout", help="The checkout the tool scanned: line hashes from source.")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="sarif, semgrep, bandit, brakeman, horusec")] = None,
    scanned: Annotated[
        list[str] | None, typer.Option("--scanned-path", help="Only these paths were scanned (repeatable).")
    ] = None,
) -> None:
    """Store the reports of one commit (one scan per tool and category) in one transaction."""
    payloads = []
    for path in files:
        if not path.is_file():
            raise InvalidInput(f"{path}: no such file")
        payloads.append((path.name, path.read_bytes()))
    rt = cli_support.runtime()
    upload = Upload(repo=repo, commit=commit, branch=branch, pr=pr, category=category, scanned_paths=scanned)
    with rt.sessions.begin() as session:
        scans = intake.upload_files(
            session, payloads=payloads, upload=upload, now=rt.now(), bus=rt.bus, actor="cli", fmt=fmt,
            checkout=checkout,
        )  # fmt: skip
        out = [ScanOut.of(s).model_dump(mode="json") for s in scans]
    print_json({"scans": out})


@sast_app.command("gate")
@handle_errors
def gate_command(
    repo: Annotated[str, typer.Option("--repo")],
    base: Annotated[str, typer.Option("--base", help="The base commit SHA (the target branch).")],
    head: Annotated[str, typer.Option("--head", help="The head commit SHA (the pull request).")],
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="The lowest severity that blocks.")] = None,
    fmt: Annotated[GateFormat, typer.Option("--format")] = GateFormat.text,
) -> None:
    """Exit 1 only when findings new in head against base, not triaged away, reach the threshold."""
    rt = cli_support.runtime()
    with rt.sessions() as session:
        verdict = gate.evaluate(session, repo=repo, base=base, head=head, now=rt.now(), fail_on=fail_on)
    if fmt is GateFormat.json:
        print_json(gate_report.as_json(verdict))
    elif fmt is GateFormat.sarif:
        sys.stdout.write(json.dumps(gate_report.as_sarif(verdict), indent=2) + "\n")
    else:
        sys.stdout.write(gate_report.as_text(verdict) + "\n")
    if not verdict.passed:
        raise typer.Exit(GATE_BLOCKED)


@sast_app.command("findings")
@handle_errors
def findings_command(
    repo: Annotated[str | None, typer.Option("--repo")] = None,
    open_only: Annotated[bool, typer.Option("--open/--all", help="Only findings still reported.")] = True,
) -> None:
    """The findings of a repository (or all), as JSON."""
    rt = cli_support.runtime()
    with rt.sessions() as session:
        rows = queries.list_findings(session, repo=repo, open_only=open_only)
        tools = queries.tools_by_finding(session, [f.id for f in rows])
        print_json([FindingOut.of(f, tools.get(f.id, [])).model_dump(mode="json") for f in rows])


@sast_app.command("triage")
@handle_errors
def triage_command(
    finding_id: Annotated[str, typer.Argument()],
    state: Annotated[str, typer.Option("--state", help="confirmed, false_positive, wont_fix, accepted_risk, ...")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    until: Annotated[
        datetime | None, typer.Option("--until", help="Expiry of an accepted risk (ISO date, UTC).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded in the audit log).")] = "cli",
) -> None:
    """Record a triage decision; it follows the finding across rescans, branches and moves."""
    rt = cli_support.runtime()
    expiry = until.replace(tzinfo=until.tzinfo or rt.now().tzinfo) if until else None
    with rt.sessions.begin() as session:
        finding = triage.triage(
            session, finding_id=finding_id, state=state, reason=reason, accepted_until=expiry,
            actor=Actor(name=by, source="cli"), now=rt.now(), bus=rt.bus,
        )  # fmt: skip
        print_json(FindingOut.of(finding).model_dump(mode="json"))
