"""The offline scan: lockfiles under a path matched against OSV records, rendered as JSON, SARIF or a table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mamori.core.errors import InvalidInput, MamoriError
from mamori.vulns import lockfiles, sources
from mamori.vulns.matcher import AdvisoryIndex, Finding, severity_rank

SEVERITIES = ("low", "medium", "high", "critical")
_SARIF_LEVEL = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note"}


@dataclass
class ScanReport:
    findings: list[Finding]
    files: list[str]
    errors: list[str] = field(default_factory=list)
    advisory_errors: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    advisories: int = 0
    """How many advisory records were loaded; a scan against none is refused (NoAdvisories)."""

    def reaches(self, severity: str) -> bool:
        threshold = severity_rank(severity)
        return any(severity_rank(f.severity.label) >= threshold for f in self.findings)


class NoAdvisories(MamoriError):
    """Nothing to match against: a scan would say "no findings" without having looked."""

    status = 400
    exit_code = 3


ADVISORIES_HINT = (
    "give --advisories PATH (OSV JSON records or OSV's per-ecosystem zip dumps, e.g. "
    "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip, downloaded) or set MAMORI_VULNS_ADVISORIES"
)


def scan(path: Path, *, advisories: Path | None) -> ScanReport:
    """Scan lockfiles under `path` against the OSV records at `advisories` (none loaded is an error)."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or directory")
    if advisories is None:
        raise NoAdvisories(f"no advisories to scan against: {ADVISORIES_HINT}")
    if not advisories.exists():
        raise InvalidInput(f"{advisories}: no such advisories file or directory")
    loaded = sources.load(advisories)
    if not loaded.advisories:
        raise NoAdvisories(f"{advisories}: no valid OSV advisory records loaded ({len(loaded.errors)} invalid)")
    index = AdvisoryIndex(loaded.advisories)
    inventory = lockfiles.discover(path)
    return ScanReport(
        index.scan(inventory.components),
        inventory.files,
        inventory.errors,
        loaded.errors,
        inventory.skipped,
        len(loaded.advisories),
    )


def finding_json(f: Finding) -> dict[str, Any]:
    c = f.component
    return {
        "ecosystem": c.ecosystem,
        "package": c.name,
        "version": c.version,
        "purl": c.purl,
        "advisory_id": f.advisory_id,
        "aliases": list(f.aliases),
        "severity": f.severity.label,
        "fixed_versions": list(f.fixed_versions),
        "source_file": c.source_file,
    }


def to_json(report: ScanReport) -> dict[str, Any]:
    return {"findings": [finding_json(f) for f in report.findings]}


def to_sarif(report: ScanReport) -> dict[str, Any]:
    """SARIF 2.1.0: one rule per advisory, one result per (component occurrence, advisory)."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in report.findings:
        adv = f.advisories[0]
        rules.setdefault(
            f.advisory_id,
            {
                "id": f.advisory_id,
                "shortDescription": {"text": adv.summary or f.advisory_id},
                "fullDescription": {"text": adv.details or adv.summary or f.advisory_id},
                "helpUri": f"https://osv.dev/vulnerability/{f.advisory_id}",
                "properties": {"aliases": list(f.aliases), "security-severity": str(f.severity.score or "")},
            },
        )
        fix = f", fixed in {', '.join(f.fixed_versions)}" if f.fixed_versions else ""
        results.append(
            {
                "ruleId": f.advisory_id,
                "level": _SARIF_LEVEL.get(f.severity.label, "warning"),
                "message": {"text": f"{f.component.name} {f.component.version} is affected by {f.advisory_id}{fix}"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.component.source_file}}}],
                "partialFingerprints": {"mamori/v1": f"{f.component.purl}|{f.advisory_id}"},
            }
        )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mamori-vulns",
                        "informationUri": "https://osv.dev",
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }


def to_table(report: ScanReport) -> str:
    rows = [("SEVERITY", "PACKAGE", "VERSION", "ADVISORY", "FIXED", "FILE")]
    rows += [
        (
            f.severity.label,
            f.component.name,
            f.component.version,
            f.advisory_id,
            ",".join(f.fixed_versions),
            f.component.source_file,
        )
        for f in report.findings
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(f"{len(report.findings)} finding(s) in {len(report.files)} file(s)")
    return "\n".join(lines)
