"""snyk: `snyk test --json` (one project, or a list with --all-projects), its per-path repetition collapsed
(one vulnerability is listed once per dependency path), and Snyk REST Issues API pages (JSON:API). A test
run is a scan of its project x manifest: what it no longer reports there is closed."""

from __future__ import annotations

from typing import Any

from mamori.findings.identity import canonical_advisory
from mamori.findings.parsers.fields import FieldError, items, number, obj, sub, text
from mamori.findings.records import Batch, Observation, RecordProblem, normalise_severity

FORMAT = "snyk"
ISSUES_FORMAT = "snyk-issues"


def looks_like(document: Any) -> bool:
    first = document[0] if isinstance(document, list) and document else document
    return (
        isinstance(first, dict) and "vulnerabilities" in first and ("packageManager" in first or "projectName" in first)
    )


def looks_like_issues(document: Any) -> bool:
    return isinstance(document, dict) and "jsonapi" in document and isinstance(document.get("data"), list)


def _manifest(project: dict[str, Any]) -> str:
    return str(project.get("displayTargetFile") or project.get("targetFile") or "").replace("\\", "/")


def parse(document: Any) -> Batch:
    batch = Batch(format=FORMAT, scan=True)
    projects = document if isinstance(document, list) else [document]
    index = 0
    for p, item in enumerate(projects):
        loc = f"[{p}]" if isinstance(document, list) else ""
        try:
            project = obj(item, loc or "document")
            vulns = items(project, "vulnerabilities", loc or "document", required=True)
        except FieldError as exc:
            batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
            continue
        name = str(project.get("projectName") or project.get("path") or "")
        manifest = _manifest(project)
        batch.scopes.add(f"snyk|{name}|{manifest}")
        seen: set[tuple[str, str, str]] = set()
        for v, vuln in enumerate(vulns):
            vloc = f"{loc}.vulnerabilities[{v}]".lstrip(".")
            batch.total += 1
            try:
                obs = _vulnerability(
                    obj(vuln, vloc),
                    loc=vloc,
                    index=index,
                    project=name,
                    manifest=manifest,
                    manager=str(project.get("packageManager") or ""),
                )
            except FieldError as exc:
                batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
                index += 1
                continue
            index += 1
            key = (obs.advisory, obs.package, obs.version)
            if key in seen:
                batch.skipped.append(f"{vloc}: the same vulnerability on another dependency path")
                continue
            seen.add(key)
            batch.observations.append(obs)
    return batch


def _vulnerability(
    vuln: dict[str, Any], *, loc: str, index: int, project: str, manifest: str, manager: str
) -> Observation:
    snyk_id = text(vuln, "id", loc)
    package = text(vuln, "packageName", loc)
    version = text(vuln, "version", loc)
    identifiers = sub(vuln, "identifiers")
    ids = [str(i) for key in ("CVE", "GHSA") for i in identifiers.get(key) or []] + [snyk_id]
    severity = normalise_severity(vuln.get("severity"))
    if severity is None:
        raise FieldError(f"{loc}.severity", f"expected low, medium, high or critical, got {vuln.get('severity')!r}")
    epss = sub(vuln, "epssDetails")
    return Observation(
        tool="snyk",
        format=FORMAT,
        uid=f"{project}|{manifest}|{snyk_id}|{package}@{version}",
        kind="dependency",
        title=str(vuln.get("title") or snyk_id)[:500],
        index=index,
        raw=vuln,
        ecosystem=manager,
        package=package,
        version=version,
        advisory=canonical_advisory(ids),
        aliases=tuple(sorted(set(ids))),
        paths=(manifest,) if manifest else (),
        description=str(vuln.get("description") or "")[:4000],
        severity=severity,
        score=number(vuln.get("cvssScore"), f"{loc}.cvssScore"),
        epss=number(epss.get("probability"), f"{loc}.epssDetails.probability"),
        scope=f"snyk|{project}|{manifest}",
    )


def parse_issues(document: Any) -> Batch:
    """One page of the Snyk REST Issues API; each issue's first coordinate names the package."""
    batch = Batch(format=ISSUES_FORMAT)
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        batch.problems.append(RecordProblem(0, "data", "expected a JSON:API page with a data list"))
        return batch
    batch.total = len(data)
    for index, issue in enumerate(data):
        loc = f"data[{index}]"
        try:
            batch.observations.append(_issue(obj(issue, loc), loc=loc, index=index))
        except FieldError as exc:
            batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
    return batch


def _issue(issue: dict[str, Any], *, loc: str, index: int) -> Observation:
    uid = text(issue, "id", loc)
    attrs = obj(issue.get("attributes"), f"{loc}.attributes")
    severity = normalise_severity(attrs.get("effective_severity_level"))
    if severity is None:
        raise FieldError(
            f"{loc}.attributes.effective_severity_level",
            f"expected low, medium, high or critical, got {attrs.get('effective_severity_level')!r}",
        )
    coordinates = [c for c in attrs.get("coordinates") or [] if isinstance(c, dict)]
    reps = [r for c in coordinates for r in c.get("representations") or [] if isinstance(r, dict)]
    dependency: dict[str, Any] = next((r["dependency"] for r in reps if isinstance(r.get("dependency"), dict)), {})
    problems = [p for p in attrs.get("problems") or [] if isinstance(p, dict)]
    ids = [str(p.get("id")) for p in problems if p.get("id")] or [str(attrs.get("key") or uid)]
    relationships = sub(issue, "relationships")
    scan_item = sub(relationships, "scan_item")
    project = str((scan_item.get("data") or {}).get("id") or "") if isinstance(scan_item.get("data"), dict) else ""
    status = str(attrs.get("status") or "open")
    return Observation(
        tool="snyk",
        format=ISSUES_FORMAT,
        uid=f"issue:{uid}",
        kind="dependency" if dependency else "cloud",
        title=str(attrs.get("title") or ids[0])[:500],
        index=index,
        raw=issue,
        ecosystem=str(dependency.get("package_manager") or ""),
        package=str(dependency.get("package_name") or ""),
        version=str(dependency.get("package_version") or ""),
        advisory=canonical_advisory(ids),
        aliases=tuple(sorted(set(ids))),
        control=canonical_advisory(ids),
        resource=project,
        severity=severity,
        status="resolved" if status == "resolved" else "active",
        workflow=status.upper(),
        scope=f"snyk|{project}|",
    )
