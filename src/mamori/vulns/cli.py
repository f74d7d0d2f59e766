"""`mamori vulns ...`: the offline scan for CI pipelines."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select

from mamori import cli_support
from mamori.cli_support import err_console, handle_errors, print_json
from mamori.core.errors import InvalidInput, MamoriError
from mamori.core.runtime import Runtime
from mamori.vulns import kinds, lockfiles, scanning, store, watch
from mamori.vulns.lockfiles.base import LockfileError
from mamori.vulns.lockfiles.sbom import to_cyclonedx
from mamori.vulns.models import VulnAdvisory
from mamori.vulns.schemas import finding_out
from mamori.vulns.service import findings, queries
from mamori.vulns.service import vex as vex_service

vulns_app = typer.Typer(help="Dependency vulnerabilities: offline scans against OSV records.", no_args_is_help=True)


@vulns_app.callback()
def _group() -> None:
    """Dependency vulnerabilities and vendor incidents."""


class Format(StrEnum):
    json = "json"
    sarif = "sarif"
    table = "table"


INTERNAL_ERROR = 70
"""Exit code of a scan that failed on something unexpected (sysexits' EX_SOFTWARE)."""


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
    """Scan lockfiles under PATH without a server.

    Exit codes: 0 scanned, nothing reached --fail-on; 1 a finding reached --fail-on; 2 bad input (a file that
    cannot be read is named, the rest still scan); 3 no advisories to scan against; 70 an unexpected error.
    """
    if advisories is None and os.environ.get("MAMORI_VULNS_ADVISORIES"):
        advisories = Path(os.environ["MAMORI_VULNS_ADVISORIES"])
    try:
        report = scanning.scan(path, advisories=advisories)
    except MamoriError:
        raise
    except LockfileError as exc:
        raise InvalidInput(str(exc)) from None
    except Exception as exc:  # a bug must never read as "findings reached --fail-on" (exit 1)
        err_console.print(f"internal error while scanning: {exc.__class__.__name__}: {exc}", markup=False)
        raise typer.Exit(INTERNAL_ERROR) from None
    for where, why in report.skipped:
        err_console.print(f"skipped {where}: {why}", highlight=False, markup=False)
    err_console.print(
        f"scanned {len(report.files)} file(s) against {report.advisories} advisories; "
        f"{len(report.skipped)} skipped, {len(report.errors)} unreadable",
        highlight=False,
        markup=False,
    )
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


@contextmanager
def _server() -> Iterator[Runtime]:
    """The server's runtime for one command; its connections are closed when the command ends."""
    rt = cli_support.runtime()
    try:
        yield rt
    finally:
        rt.engine.dispose()


@vulns_app.command("inventory")
@handle_errors
def inventory_command(
    path: Annotated[
        Path, typer.Argument(help="A folder of repositories (one per top-level folder) or one repository.")
    ],
    service: Annotated[str | None, typer.Option("--service", help="Every file found belongs to this service.")] = None,
) -> None:
    """Record the components under PATH as the inventory of the services owning them (server database)."""
    with _server() as rt, rt.sessions.begin() as session:
        result = store.record_inventory(
            session, root=path, now=rt.now(), service=service, mappings=kinds.policy(session).repositories
        )
    print_json(
        {"files": result.files, "components": result.components, "services": result.services, "errors": result.errors}
    )
    if result.errors:
        raise typer.Exit(2)


@vulns_app.command("sync")
@handle_errors
def sync_command(
    source: Annotated[
        list[str] | None, typer.Option("--source", help="OSV folder, zip or URL; default: the policy's sources.")
    ] = None,
    epss: Annotated[Path | None, typer.Option("--epss", help="An EPSS CSV (optionally gzipped).")] = None,
    kev: Annotated[Path | None, typer.Option("--kev", help="CISA's KEV JSON catalog.")] = None,
) -> None:
    """Import advisories (incrementally), EPSS and KEV, then rescan the inventory."""
    with _server() as rt, rt.sessions.begin() as session:
        policy = kinds.policy(session)
        chosen = source or store.sources_for(session, policy.advisory_sources)
        if not chosen:
            raise InvalidInput(
                "nothing to sync: the VulnerabilityPolicy names no advisorySources and the inventory is empty "
                "(record one with `mamori vulns inventory PATH`, or pass --source)"
            )
        synced = [store.sync_advisories(session, runtime=rt, now=rt.now(), source=s) for s in chosen]
        if epss is not None:
            store.import_epss(session, payload=epss.read_bytes(), now=rt.now(), source=str(epss))
        if kev is not None:
            store.import_kev(session, payload=kev.read_bytes(), now=rt.now(), source=str(kev))
        result = findings.rescan(session, now=rt.now(), bus=rt.bus)
        watch.match_kev(session, now=rt.now())
        stored = session.scalar(select(func.count()).select_from(VulnAdvisory)) or 0
    print_json(
        {
            "sources": {s.source: s.error or s.as_dict() for s in synced},
            "advisories_stored": stored,
            "rescan": result.as_dict(),
        }
    )
    if any(s.error for s in synced):
        raise typer.Exit(2)


@vulns_app.command("findings")
@handle_errors
def findings_command(
    state: Annotated[list[str] | None, typer.Option("--state", help="open, new, affected, ...")] = None,
    service: Annotated[str | None, typer.Option("--service")] = None,
) -> None:
    """List findings of the server database as JSON."""
    with _server() as rt, rt.sessions() as session:
        print_json([finding_out(f) for f in queries.list_findings(session, state=state, service=service)])


@vulns_app.command("vex")
@handle_errors
def vex_command(
    fmt: Annotated[str, typer.Option("--format", help="openvex or cyclonedx")] = "openvex",
    service: Annotated[str | None, typer.Option("--service")] = None,
    import_file: Annotated[Path | None, typer.Option("--import", help="Apply this OpenVEX/CycloneDX document.")] = None,
) -> None:
    """Export the triage decisions as VEX, or apply a VEX document with --import."""
    with _server() as rt, rt.sessions.begin() as session:
        if import_file is None:
            print_json(vex_service.export(session, fmt=fmt, now=rt.now(), author="mamori", service=service))
            return
        try:
            document = json.loads(import_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"{import_file}: cannot read a JSON document ({exc})") from None
        actor = cli_support.actor(rt)
        print_json(
            vex_service.import_document(
                session, document=document, actor=actor, now=rt.now(), service=service, bus=rt.bus
            )
        )


@vulns_app.command("sbom")
@handle_errors
def sbom_command(
    path: Annotated[Path, typer.Argument(help="A lockfile, manifest, SBOM, or a directory searched recursively.")],
) -> None:
    """Print a CycloneDX 1.5 SBOM of the components under PATH (offline). Exit 2 if a file could not be read."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or directory")
    found = lockfiles.discover(path)
    for message in found.errors:
        err_console.print(f"error: {message}", highlight=False, markup=False)
    print_json(to_cyclonedx(found.components))
    if found.errors:
        raise typer.Exit(2)
