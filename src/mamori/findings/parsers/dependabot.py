"""GitHub Dependabot alerts: the `dependabot_alert` webhook, the REST API's alert lists, and GraphQL
`vulnerabilityAlerts` responses. An alert is a package finding in its repository x manifest."""

from __future__ import annotations

import re
from typing import Any

from mamori.findings.identity import canonical_advisory
from mamori.findings.parsers.fields import FieldError, number, obj, sub, text, timestamp
from mamori.findings.records import Batch, Observation, RecordProblem, normalise_severity

FORMAT = "dependabot"
OPEN_STATES = {"open", "reintroduced", "reopened"}
CLOSED_STATES = {"fixed", "dismissed", "auto_dismissed"}
_REPO_IN_URL = re.compile(r"/repos/([^/]+/[^/]+)/dependabot/alerts/")


def looks_like(document: Any) -> bool:
    if isinstance(document, dict):
        if isinstance(document.get("alert"), dict) and "security_advisory" in document["alert"]:
            return True
        return "vulnerabilityAlerts" in str(document.get("data"))[:100000]
    return (
        isinstance(document, list)
        and bool(document)
        and isinstance(document[0], dict)
        and "security_advisory" in document[0]
    )


def _graphql_alerts(value: Any, repo: str, out: list[tuple[str, str, Any]], path: str) -> None:
    if isinstance(value, dict):
        name = (
            str(value.get("nameWithOwner") or value.get("name") or repo) if ("vulnerabilityAlerts" in value) else repo
        )
        for key, child in value.items():
            if key == "vulnerabilityAlerts" and isinstance(child, dict):
                out.extend(
                    (f"{path}.vulnerabilityAlerts.nodes[{i}]", name, a) for i, a in enumerate(child.get("nodes") or [])
                )
            else:
                _graphql_alerts(child, name, out, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _graphql_alerts(child, repo, out, f"{path}[{i}]")


def parse(document: Any) -> Batch:
    batch = Batch(format=FORMAT)
    if isinstance(document, dict) and "data" in document:
        records: list[tuple[str, str, Any]] = []
        _graphql_alerts(document["data"], "", records, "data")
        read = _graphql
    elif isinstance(document, dict) and "alert" in document:
        repo_obj = sub(document, "repository")
        records, read = [("alert", str(repo_obj.get("full_name") or ""), document["alert"])], _rest
    elif isinstance(document, list):
        records, read = [(f"[{i}]", "", a) for i, a in enumerate(document)], _rest
    else:
        batch.problems.append(
            RecordProblem(0, "alert", "expected a dependabot_alert webhook, an alert list or a GraphQL response")
        )
        return batch
    batch.total = len(records)
    for index, (loc, repo, record) in enumerate(records):
        try:
            batch.observations.append(read(obj(record, loc), loc=loc, index=index, repo=repo))
        except FieldError as exc:
            batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
    return batch


def _rest(alert: dict[str, Any], *, loc: str, index: int, repo: str) -> Observation:
    if "rule" in alert and "most_recent_instance" in alert:
        raise FieldError(
            loc, "a code-scanning alert, not a Dependabot alert (code scanning belongs to the sast domain)"
        )
    number_ = text(alert, "number", loc)
    state = text(alert, "state", loc)
    if state not in OPEN_STATES | CLOSED_STATES:
        raise FieldError(f"{loc}.state", f"expected one of open, fixed, dismissed, auto_dismissed, got {state!r}")
    dependency = obj(alert.get("dependency"), f"{loc}.dependency")
    package = obj(dependency.get("package"), f"{loc}.dependency.package")
    advisory = obj(alert.get("security_advisory"), f"{loc}.security_advisory")
    ids = [text(advisory, "ghsa_id", f"{loc}.security_advisory"), str(advisory.get("cve_id") or "")]
    ids += [str(i.get("value")) for i in advisory.get("identifiers") or [] if isinstance(i, dict) and i.get("value")]
    repository = repo or (m.group(1) if (m := _REPO_IN_URL.search(str(alert.get("url") or ""))) else "")
    if not repository:
        raise FieldError(f"{loc}.url", "cannot tell the repository (no repository object and no API url)")
    manifest = str(dependency.get("manifest_path") or "")
    vuln = sub(alert, "security_vulnerability")
    cvss = sub(advisory, "cvss")
    epss = sub(advisory, "epss")
    severity = normalise_severity(vuln.get("severity") or advisory.get("severity"))
    if severity is None:
        raise FieldError(
            f"{loc}.security_advisory.severity",
            f"expected low, medium, high or critical, got {advisory.get('severity')!r}",
        )
    return Observation(
        tool="dependabot",
        format=FORMAT,
        uid=f"{repository}#{number_}",
        kind="dependency",
        title=str(advisory.get("summary") or ids[0])[:500],
        index=index,
        raw=alert,
        ecosystem=text(package, "ecosystem", f"{loc}.dependency.package"),
        package=text(package, "name", f"{loc}.dependency.package"),
        version="",  # an alert names the vulnerable range, not the installed version
        advisory=canonical_advisory(ids),
        aliases=tuple(sorted(set(filter(None, ids)))),
        paths=(manifest,) if manifest else (),
        repository=repository,
        description=str(advisory.get("description") or ""),
        severity=severity,
        score=number(cvss.get("score"), f"{loc}.security_advisory.cvss.score") or None,
        epss=number(epss.get("percentage"), f"{loc}.security_advisory.epss.percentage"),
        status="active" if state in OPEN_STATES else "resolved",
        workflow=state.upper(),
        updated_at=timestamp(alert.get("updated_at"), f"{loc}.updated_at"),
        scope=f"dependabot|{repository}|{manifest}",
        url=str(alert.get("html_url") or ""),
    )


def _graphql(alert: dict[str, Any], *, loc: str, index: int, repo: str) -> Observation:
    uid = text(alert, "id", loc)
    vuln = obj(alert.get("securityVulnerability"), f"{loc}.securityVulnerability")
    package = obj(vuln.get("package"), f"{loc}.securityVulnerability.package")
    advisory = obj(vuln.get("advisory"), f"{loc}.securityVulnerability.advisory")
    ids = [str(i.get("value")) for i in advisory.get("identifiers") or [] if isinstance(i, dict) and i.get("value")]
    if not ids:
        raise FieldError(f"{loc}.securityVulnerability.advisory.identifiers", "at least one identifier is required")
    severity = normalise_severity(vuln.get("severity"))
    if severity is None:
        raise FieldError(
            f"{loc}.securityVulnerability.severity",
            f"expected LOW, MODERATE, HIGH or CRITICAL, got {vuln.get('severity')!r}",
        )
    manifest = str(alert.get("vulnerableManifestPath") or "")
    state = str(alert.get("state") or "OPEN").lower()
    cvss = sub(advisory, "cvss")
    return Observation(
        tool="dependabot",
        format=FORMAT,
        uid=f"graphql:{uid}",
        kind="dependency",
        title=str(advisory.get("summary") or ids[0])[:500],
        index=index,
        raw=alert,
        ecosystem=str(package.get("ecosystem") or ""),
        package=text(package, "name", f"{loc}.securityVulnerability.package"),
        version=str(alert.get("vulnerableRequirements") or "").removeprefix("= "),
        advisory=canonical_advisory(ids),
        aliases=tuple(sorted(set(ids))),
        paths=(manifest,) if manifest else (),
        repository=repo,
        description=str(advisory.get("description") or ""),
        severity=severity,
        score=number(cvss.get("score"), f"{loc}.securityVulnerability.advisory.cvss.score") or None,
        status="active" if state in OPEN_STATES else "resolved",
        workflow=state.upper(),
        scope=f"dependabot|{repo}|{manifest}",
    )
