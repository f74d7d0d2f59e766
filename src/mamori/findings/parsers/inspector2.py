"""Amazon Inspector (v2) findings in its own format (`ListFindings` / the console's JSON export): package
vulnerabilities on images, instances and functions, and network reachability. The finding ARN is the same
id Security Hub shows for it, so both copies are one source of tool `inspector`."""

from __future__ import annotations

from typing import Any

from mamori.findings.identity import canonical_advisory
from mamori.findings.parsers.fields import FieldError, items, number, obj, sub, text, timestamp
from mamori.findings.records import Batch, Observation, RecordProblem, normalise_severity

FORMAT = "inspector2"
UNRATED = {"UNTRIAGED"}
"""Inspector's word for a vulnerability its vendor has not rated; counted as medium until someone looks."""


def looks_like(document: Any) -> bool:
    found = document.get("findings") if isinstance(document, dict) else None
    return isinstance(found, list) and (not found or (isinstance(found[0], dict) and "findingArn" in found[0]))


def parse(document: Any) -> Batch:
    batch = Batch(format=FORMAT)
    records = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(records, list):
        batch.problems.append(RecordProblem(0, "findings", "expected an object with a findings list"))
        return batch
    batch.total = len(records)
    for index, record in enumerate(records):
        loc = f"findings[{index}]"
        try:
            batch.observations.append(_finding(obj(record, loc), loc, index))
        except FieldError as exc:
            batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
    return batch


def _finding(record: dict[str, Any], loc: str, index: int) -> Observation:
    arn = text(record, "findingArn", loc)
    account = text(record, "awsAccountId", loc)
    kind = text(record, "type", loc)
    word = text(record, "severity", loc)
    severity = "MEDIUM" if word in UNRATED else normalise_severity(word)
    if severity is None:
        raise FieldError(
            f"{loc}.severity", f"expected CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL or UNTRIAGED, got {word!r}"
        )
    resources = items(record, "resources", loc, required=True)
    if not resources:
        raise FieldError(f"{loc}.resources", "at least one resource is required")
    primary = obj(resources[0], f"{loc}.resources[0]")
    resource = text(primary, "id", f"{loc}.resources[0]")
    region = text(primary, "region", f"{loc}.resources[0]", required=False)
    status = text(record, "status", loc)
    details = sub(record, "packageVulnerabilityDetails")
    base = Observation(
        tool="inspector",
        format=FORMAT,
        uid=arn,
        kind="cloud",
        title=text(record, "title", loc),
        index=index,
        raw=record,
        account=account,
        region=region,
        resource=resource,
        resource_type=str(primary.get("type") or ""),
        control=kind,
        description=str(record.get("description") or ""),
        severity=severity,
        status="resolved" if status == "CLOSED" else "active",
        workflow="SUPPRESSED" if status == "SUPPRESSED" else status,
        updated_at=timestamp(record.get("updatedAt"), f"{loc}.updatedAt"),
        epss=number(sub(record, "epss").get("score"), f"{loc}.epss.score"),
        scope=f"inspector|{account}|{region}|{resource}",
    )
    if kind != "PACKAGE_VULNERABILITY":
        return base
    where = f"{loc}.packageVulnerabilityDetails"
    advisory = text(details, "vulnerabilityId", where)
    packages = [
        obj(p, f"{where}.vulnerablePackages[{i}]") for i, p in enumerate(items(details, "vulnerablePackages", where))
    ]
    name = str(packages[0].get("name") or "") if packages else ""
    scores = [
        number(c.get("baseScore"), f"{where}.cvss[{i}].baseScore")
        for i, c in enumerate(items(details, "cvss", where))
        if isinstance(c, dict)
    ]
    base.kind = "vulnerability"
    base.advisory = canonical_advisory([advisory])
    base.aliases = (advisory,)
    base.control = base.advisory
    base.ecosystem = str(packages[0].get("packageManager") or "os").lower() if packages else "os"
    base.package = name
    base.version = ", ".join(
        sorted({str(p.get("version")) for p in packages if p.get("name") == name and p.get("version")})
    )
    base.paths = tuple(sorted({str(p["filePath"]) for p in packages if p.get("filePath")}))
    base.location = resource
    base.score = max((s for s in scores if s is not None), default=None)
    return base
