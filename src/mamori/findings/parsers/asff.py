"""AWS Security Finding Format (ASFF) as Security Hub exports it: `{"Findings": [...]}` (the
BatchImportFindings and GetFindings shape), and EventBridge "Security Hub Findings - Imported" events.

Covers the AWS products' own fields: Config/FSBP controls (`Compliance`, `ControlId`), GuardDuty (finding
type, `service/count`, sample findings), Inspector (`Vulnerabilities` with packages, CVSS, EPSS), IAM Access
Analyzer and Macie (type and resource). A passing control, an archived record or a RESOLVED workflow is a
resolved observation; Security Hub's own SUPPRESSED workflow is carried for the queue to honour.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mamori.findings.identity import canonical_advisory
from mamori.findings.parsers.fields import FieldError, arn_part, items, number, obj, sub, text, timestamp
from mamori.findings.records import (
    Batch,
    Known,
    Observation,
    RecordProblem,
    normalise_severity,
    severity_from_score,
)

FORMAT = "asff"
PRODUCTS = {
    "aws/securityhub": "securityhub",
    "aws/guardduty": "guardduty",
    "aws/inspector": "inspector",
    "aws/access-analyzer": "access-analyzer",
    "aws/macie": "macie",
    "aws/config": "config",
    "prowler/prowler": "prowler",
}
EVENT_DETAIL_TYPE = "Security Hub Findings - Imported"


def looks_like(document: Any) -> bool:
    if isinstance(document, dict):
        if isinstance(document.get("Findings") or document.get("findings"), list):
            first = (document.get("Findings") or document.get("findings") or [{}])[0]
            return isinstance(first, dict) and ("SchemaVersion" in first or "ProductArn" in first)
        return document.get("source") == "aws.securityhub" and isinstance(document.get("detail"), dict)
    if isinstance(document, list) and document and isinstance(document[0], dict):
        return document[0].get("source") == "aws.securityhub" or "ProductArn" in document[0]
    return False


def _records(document: Any) -> list[tuple[str, Any]]:
    """(path, record) of every finding in the document, whichever of the accepted shapes it has."""
    if isinstance(document, dict) and isinstance(document.get("Findings"), list):
        return [(f"Findings[{i}]", r) for i, r in enumerate(document["Findings"])]
    if isinstance(document, dict) and isinstance(document.get("findings"), list):
        return [(f"findings[{i}]", r) for i, r in enumerate(document["findings"])]
    events = document if isinstance(document, list) else [document]
    out: list[tuple[str, Any]] = []
    for e, event in enumerate(events):
        prefix = f"[{e}]." if isinstance(document, list) else ""
        if isinstance(event, dict) and "ProductArn" in event:
            out.append((f"[{e}]", event))
            continue
        detail = event.get("detail") if isinstance(event, dict) else None
        if not isinstance(detail, dict) or not isinstance(detail.get("findings"), list):
            raise FieldError(f"{prefix}detail.findings", "not an ASFF document: expected Findings or detail.findings")
        out.extend((f"{prefix}detail.findings[{i}]", r) for i, r in enumerate(detail["findings"]))
    return out


def revision(record: dict[str, Any]) -> str:
    """What changes when Security Hub or its product changes the record (ASFF requires a new UpdatedAt)."""
    fields = record.get("ProductFields") if isinstance(record.get("ProductFields"), dict) else {}
    parts = [
        record.get("UpdatedAt"),
        record.get("RecordState"),
        record.get("Workflow"),
        record.get("WorkflowState"),
        record.get("Compliance"),
        record.get("Severity"),
        fields.get("aws/guardduty/service/count") if fields else None,
    ]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def index(document: Any) -> list[tuple[str, str]]:
    """(product, Id) of every record that has both, cheaply: what a pre-check asks the store about."""
    try:
        records = _records(document)
    except FieldError:
        return []
    out = []
    for _, record in records:
        if isinstance(record, dict) and isinstance(record.get("Id"), str) and isinstance(record.get("ProductArn"), str):
            fields = record.get("ProductFields") if isinstance(record.get("ProductFields"), dict) else {}
            out.append((tool_of(record["ProductArn"], fields or {}), record["Id"]))
    return out


def parse(document: Any, *, known: Known | None = None) -> Batch:
    """Every record of the document; a bad record becomes a problem and the others are still read. With
    `known`, a record the store already holds at the same revision is counted unchanged and not parsed."""
    batch = Batch(format=FORMAT)
    try:
        records = _records(document)
    except FieldError as exc:
        batch.problems.append(RecordProblem(0, exc.loc, exc.msg))
        return batch
    batch.total = len(records)
    for index, (loc, record) in enumerate(records):
        rev = revision(record) if isinstance(record, dict) else ""
        if known is not None and _known(record, known, rev):
            batch.unchanged.append((tool_of(record["ProductArn"], record.get("ProductFields") or {}), record["Id"]))
            continue
        try:
            found = parse_record(obj(record, loc), loc=loc, index=index, rev=rev)
        except FieldError as exc:
            batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
            continue
        for obs in found:
            if obs.sample:
                batch.skipped.append(f"{loc}: a sample finding ({obs.uid})")
                continue
            batch.observations.append(obs)
            batch.scopes.add(obs.scope)
    return batch


def _known(record: Any, known: Known, rev: str) -> bool:
    if not (
        isinstance(record, dict) and isinstance(record.get("Id"), str) and isinstance(record.get("ProductArn"), str)
    ):
        return False
    fields = record.get("ProductFields") if isinstance(record.get("ProductFields"), dict) else {}
    status, _ = _status(record)
    return known(tool_of(record["ProductArn"], fields or {}), record["Id"], rev, status)


def tool_of(product_arn: str, product_fields: dict[str, Any]) -> str:
    """The producing product from `ProductArn` (`.../product/aws/guardduty` -> guardduty)."""
    tail = product_arn.split(":product/", 1)[1] if ":product/" in product_arn else ""
    if tail in PRODUCTS:
        return PRODUCTS[tail]
    if tail:
        return tail.lower()
    name = product_fields.get("aws/securityhub/ProductName")
    return str(name).lower().replace(" ", "-") if name else "securityhub"


def guardduty_type(asff_type: str) -> str:
    """`TTPs/Discovery/Recon:EC2-Portscan` -> `Recon:EC2/Portscan`, GuardDuty's own spelling (so the
    EventBridge and Security Hub copies of one GuardDuty finding share a control)."""
    segments = asff_type.split("/")
    last = segments[-1]
    if ":" not in last:
        if len(segments) < 3 or "-" not in last:
            return last
        last = segments[-2].replace(" ", "") + ":" + last  # TTPs/Discovery/IAMUser-AnomalousBehavior
    purpose, rest = last.split(":", 1)
    return f"{purpose}:{rest.replace('-', '/', 1)}" if "/" not in rest else last


def _severity(record: dict[str, Any], loc: str) -> tuple[str, float | None]:
    sev = record.get("Severity")
    if not isinstance(sev, dict):
        raise FieldError(f"{loc}.Severity", "required field is missing (an object with Label or Normalized)")
    label = normalise_severity(sev.get("Label"))
    normalized = number(sev.get("Normalized"), f"{loc}.Severity.Normalized")
    product = number(sev.get("Product"), f"{loc}.Severity.Product")
    if label is None and normalized is None:
        raise FieldError(
            f"{loc}.Severity.Label",
            f"expected one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, got {sev.get('Label')!r}",
        )
    if label is None:
        assert normalized is not None
        label = severity_from_score(normalized / 10) if normalized > 0 else "INFORMATIONAL"
    return label, product


def _status(record: dict[str, Any]) -> tuple[str, str]:
    workflow = record.get("Workflow")
    wf = str(workflow.get("Status", "")) if isinstance(workflow, dict) else str(record.get("WorkflowState", ""))
    compliance = record.get("Compliance")
    passed = isinstance(compliance, dict) and compliance.get("Status") in {"PASSED", "NOT_AVAILABLE"}
    resolved = record.get("RecordState") == "ARCHIVED" or wf.upper() == "RESOLVED" or passed
    return ("resolved" if resolved else "active"), wf.upper()


def _control(record: dict[str, Any], tool: str, fields: dict[str, Any]) -> str:
    compliance = record.get("Compliance")
    if isinstance(compliance, dict) and compliance.get("SecurityControlId"):
        return str(compliance["SecurityControlId"])
    if fields.get("ControlId"):
        return str(fields["ControlId"])
    types = [t for t in record.get("Types") or [] if isinstance(t, str)]
    if tool == "guardduty" and types:
        return guardduty_type(types[0])
    if types and tool in {"access-analyzer", "macie"}:
        return types[0]
    return str(record.get("GeneratorId") or (types[0] if types else ""))


def parse_record(record: dict[str, Any], *, loc: str, index: int, rev: str = "") -> list[Observation]:
    """The observations of one record (an Inspector record with several CVEs gives one per CVE); `rev` is
    its `revision` when the caller already computed it."""
    uid = text(record, "Id", loc)
    product_arn = text(record, "ProductArn", loc)
    text(record, "Title", loc)
    fields = record.get("ProductFields") or {}
    if not isinstance(fields, dict):
        raise FieldError(f"{loc}.ProductFields", "expected an object of strings")
    resources = items(record, "Resources", loc, required=True)
    if not resources:
        raise FieldError(f"{loc}.Resources", "at least one resource is required")
    primary = obj(resources[0], f"{loc}.Resources[0]")
    resource = text(primary, "Id", f"{loc}.Resources[0]")
    account = text(record, "AwsAccountId", loc, required=False) or arn_part(uid, 4)
    if not account:
        raise FieldError(f"{loc}.AwsAccountId", "required field is missing (and Id is not an ARN naming one)")
    region = (
        text(record, "Region", loc, required=False)
        or text(primary, "Region", f"{loc}.Resources[0]", required=False)
        or arn_part(uid, 3)
        or arn_part(product_arn, 3)
    )
    severity, product_severity = _severity(record, loc)
    status, workflow = _status(record)
    tool = tool_of(product_arn, fields)
    tags = sub(primary, "Tags")
    repeat = number(fields.get("aws/guardduty/service/count"), f"{loc}.ProductFields.aws/guardduty/service/count")
    sample = (
        record.get("Sample") is True
        or str(fields.get("aws/guardduty/service/additionalInfo/sample", "")).lower() == "true"
    )
    control = _control(record, tool, fields)
    base = Observation(
        tool=tool,
        format=FORMAT,
        uid=uid,
        kind="detection" if tool == "guardduty" else "cloud",
        title=str(record["Title"]),
        index=index,
        raw=record,
        account=account,
        region=region,
        resource=resource,
        resource_type=str(primary.get("Type") or ""),
        control=control,
        description=str(record.get("Description") or ""),
        severity=severity,
        score=product_severity if tool == "guardduty" else None,
        status=status,  # type: ignore[arg-type]
        workflow=workflow,
        updated_at=timestamp(record.get("UpdatedAt"), f"{loc}.UpdatedAt"),
        revision=rev or revision(record),
        repeat_count=int(repeat) if repeat is not None else None,
        sample=sample,
        tags={str(k): str(v) for k, v in (tags or {}).items()},
        scope=f"{tool}|{account}|{region}|{control}",
        url=str(record.get("SourceUrl") or ""),
    )
    vulns = items(record, "Vulnerabilities", loc)
    if not vulns:
        return [base]
    return [
        _vulnerability(base, obj(v, f"{loc}.Vulnerabilities[{i}]"), f"{loc}.Vulnerabilities[{i}]", len(vulns) > 1)
        for i, v in enumerate(vulns)
    ]


def _vulnerability(base: Observation, vuln: dict[str, Any], loc: str, several: bool) -> Observation:
    """An Inspector CVE on an image or instance: a package finding whose location is the resource."""
    advisory_id = text(vuln, "Id", loc)
    packages = [obj(p, f"{loc}.VulnerablePackages[{i}]") for i, p in enumerate(items(vuln, "VulnerablePackages", loc))]
    name = text(packages[0], "Name", f"{loc}.VulnerablePackages[0]") if packages else ""
    same = [p for p in packages if p.get("Name") == name]
    scores = [
        number(c.get("BaseScore"), f"{loc}.Cvss[{i}].BaseScore")
        for i, c in enumerate(items(vuln, "Cvss", loc))
        if isinstance(c, dict)
    ]
    known = [s for s in scores if s is not None]
    obs = Observation(**{**base.__dict__})
    obs.kind = "vulnerability"
    obs.uid = f"{base.uid}#{advisory_id}" if several else base.uid
    obs.ecosystem = str(packages[0].get("PackageManager") or "os").lower() if packages else "os"
    obs.package = name
    obs.version = ", ".join(sorted({str(p.get("Version") or "") for p in same} - {""}))
    obs.advisory = canonical_advisory([advisory_id])
    obs.aliases = (advisory_id,)
    obs.location = base.resource
    obs.paths = tuple(sorted({str(p["FilePath"]) for p in same if p.get("FilePath")}))
    obs.score = max(known) if known else None
    obs.epss = number(vuln.get("EpssScore", base.raw.get("EpssScore")), f"{loc}.EpssScore")
    obs.control = obs.advisory
    obs.scope = f"{base.tool}|{base.account}|{base.region}|{base.resource}"
    return obs
