"""OCSF 1.x findings as Security Hub (new) and Prowler emit them: classes 2002 Vulnerability, 2003 Compliance,
2004 Detection and 2007 Application Security Posture Finding.

Each record is checked against the schema's rules before it is read (required attributes of the base event,
the finding and its class; class_uid = category_uid * 1000 + class; type_uid = class_uid * 100 +
activity_id; the enums of severity_id, activity_id and status_id); `tests/findings/test_ocsf.py` checks this
table against the OCSF schema source. A Prowler run is a scan: PASS rows say what was re-checked.
"""

from __future__ import annotations

from typing import Any

from mamori.findings.identity import canonical_advisory
from mamori.findings.parsers.fields import FieldError, items, number, obj, sub, text, timestamp
from mamori.findings.records import Batch, Observation, RecordProblem

FORMAT = "ocsf"
CLASSES = {
    2002: "Vulnerability Finding",
    2003: "Compliance Finding",
    2004: "Detection Finding",
    2007: "Application Security Posture Finding",
}
BASE_REQUIRED = (
    "activity_id",
    "category_uid",
    "class_uid",
    "finding_info",
    "metadata",
    "severity_id",
    "time",
    "type_uid",
)
"""Required by base_event (and finding: finding_info). `time` may come as its datetime-profile twin `time_dt`
only (Prowler >= 4.5) or as `event_time` (Prowler < 4.5)."""
TIME_FIELDS = ("time", "time_dt", "event_time")
CLASS_REQUIRED = {2002: ("vulnerabilities",), 2003: ("compliance",), 2004: (), 2007: ()}
ACTIVITY_IDS = {0: "Unknown", 1: "Create", 2: "Update", 3: "Close", 99: "Other"}
SEVERITY_IDS = {0: None, 1: "INFORMATIONAL", 2: "LOW", 3: "MEDIUM", 4: "HIGH", 5: "CRITICAL", 6: "CRITICAL", 99: None}
STATUS_IDS = {
    0: "Unknown",
    1: "New",
    2: "In Progress",
    3: "Suppressed",
    4: "Resolved",
    5: "Archived",
    6: "Deleted",
    99: "Other",
}
RESOLVED_STATUSES = {"Resolved", "Archived", "Deleted"}
COMPLIANCE_PASS = 1


def looks_like(document: Any) -> bool:
    first = document[0] if isinstance(document, list) and document else document
    return isinstance(first, dict) and isinstance(first.get("class_uid"), int) and "finding_info" in first


def parse(document: Any) -> Batch:
    batch = Batch(format=FORMAT, scan=True)
    records = document if isinstance(document, list) else [document]
    batch.total = len(records)
    for index, record in enumerate(records):
        loc = f"[{index}]"
        try:
            found = parse_record(obj(record, loc), loc=loc, index=index)
        except FieldError as exc:
            batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
            continue
        for obs in found:
            batch.scopes.add(obs.scope)
            batch.observations.append(obs)
    return batch


def _enum(record: dict[str, Any], name: str, allowed: dict[int, Any], loc: str) -> int:
    value = record.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        raise FieldError(f"{loc}.{name}", f"expected one of {sorted(allowed)}, got {value!r}")
    return value


def validate(record: dict[str, Any], loc: str) -> int:
    """The record's class_uid once the schema's structural rules hold; a FieldError names the first breach."""
    for name in BASE_REQUIRED:
        if name == "time" and any(record.get(t) is not None for t in TIME_FIELDS):
            continue
        if record.get(name) is None:
            raise FieldError(f"{loc}.{name}", "required field is missing (OCSF base event)")
    class_uid = record["class_uid"]
    if class_uid not in CLASSES:
        raise FieldError(f"{loc}.class_uid", f"expected a findings class {sorted(CLASSES)}, got {class_uid!r}")
    for name in CLASS_REQUIRED[class_uid]:
        if record.get(name) is None:
            raise FieldError(f"{loc}.{name}", f"required field is missing ({CLASSES[class_uid]})")
    if record["category_uid"] != class_uid // 1000:
        raise FieldError(f"{loc}.category_uid", f"expected {class_uid // 1000} for class {class_uid}")
    activity = _enum(record, "activity_id", ACTIVITY_IDS, loc)
    if record["type_uid"] != class_uid * 100 + activity:
        raise FieldError(f"{loc}.type_uid", f"expected {class_uid * 100 + activity} (class_uid * 100 + activity_id)")
    _enum(record, "severity_id", SEVERITY_IDS, loc)
    if record.get("status_id") is not None:
        _enum(record, "status_id", STATUS_IDS, loc)
    metadata = obj(record["metadata"], f"{loc}.metadata")
    obj(metadata.get("product"), f"{loc}.metadata.product")
    text(metadata, "version", f"{loc}.metadata")
    text(obj(record["finding_info"], f"{loc}.finding_info"), "uid", f"{loc}.finding_info")
    return int(class_uid)


def _status(record: dict[str, Any]) -> tuple[str, str]:
    """(status, workflow). The status name wins over status_id when both are given and disagree (Prowler 4.2
    wrote status_id 3 beside status "New")."""
    name = (
        record.get("status")
        if record.get("status") in STATUS_IDS.values()
        else STATUS_IDS.get(record.get("status_id") or 0, "Unknown")
    )
    compliance = sub(record, "compliance")
    passed = record.get("status_code") == "PASS" or compliance.get("status_id") == COMPLIANCE_PASS
    resolved = passed or name in RESOLVED_STATUSES
    return ("resolved" if resolved else "active"), ("SUPPRESSED" if name == "Suppressed" else str(name).upper())


def parse_record(record: dict[str, Any], *, loc: str, index: int) -> list[Observation]:
    class_uid = validate(record, loc)
    info = record["finding_info"]
    metadata = record["metadata"]
    product = str(metadata["product"].get("name") or metadata["product"].get("uid") or "ocsf").lower().replace(" ", "-")
    cloud = sub(record, "cloud")
    account_obj = sub(cloud, "account")
    resources = [obj(r, f"{loc}.resources[{i}]") for i, r in enumerate(items(record, "resources", loc))]
    primary = resources[0] if resources else (sub(record, "resource"))
    resource = str(primary.get("uid") or primary.get("name") or "")
    region = str(primary.get("region") or cloud.get("region") or "")
    account = str(account_obj.get("uid") or "")
    compliance = sub(record, "compliance")
    types = [t for t in info.get("types") or [] if isinstance(t, str)]
    control = str(
        compliance.get("control")
        or metadata.get("event_code")
        or (types[0] if types else "")
        or info.get("title")
        or ""
    )
    status, workflow = _status(record)
    time_value = next(record[t] for t in TIME_FIELDS if record.get(t) is not None)
    uid = "|".join([str(info["uid"]), resource, control])
    base = Observation(
        tool=product,
        format=FORMAT,
        uid=uid,
        kind="cloud" if class_uid in {2003, 2007} or product == "prowler" else "detection",
        title=str(info.get("title") or record.get("message") or control),
        index=index,
        raw=record,
        account=account,
        region=region,
        resource=resource,
        resource_type=str(primary.get("type") or ""),
        control=control,
        description=str(info.get("desc") or record.get("status_detail") or ""),
        severity=SEVERITY_IDS.get(record["severity_id"]) or "MEDIUM",
        status=status,  # type: ignore[arg-type]
        workflow=workflow,
        updated_at=timestamp(time_value, f"{loc}.time"),
        confidence=(number(record.get("confidence_score"), f"{loc}.confidence_score") or 0) / 10
        if record.get("confidence_score") is not None
        else None,
        scope=f"{product}|{account}|{region}|{control}",
    )
    vulns = items(record, "vulnerabilities", loc)
    if class_uid == 2002 or (vulns and class_uid == 2007):
        return [
            _vulnerability(base, obj(v, f"{loc}.vulnerabilities[{i}]"), f"{loc}.vulnerabilities[{i}]")
            for i, v in enumerate(vulns)
        ]
    return [base]


def _vulnerability(base: Observation, vuln: dict[str, Any], loc: str) -> Observation:
    cve = sub(vuln, "cve")
    advisory_obj = sub(vuln, "advisory")
    ids = [str(x) for x in (cve.get("uid"), advisory_obj.get("uid")) if x]
    if not ids:
        raise FieldError(f"{loc}.cve.uid", "a vulnerability needs cve.uid or advisory.uid")
    packages = [obj(p, f"{loc}.affected_packages[{i}]") for i, p in enumerate(items(vuln, "affected_packages", loc))]
    first = packages[0] if packages else {}
    scores = [
        number(c.get("base_score"), f"{loc}.cve.cvss[{i}].base_score")
        for i, c in enumerate(cve.get("cvss") or [])
        if isinstance(c, dict)
    ]
    epss = sub(cve, "epss")
    obs = Observation(**{**base.__dict__})
    obs.kind = "vulnerability"
    obs.advisory = canonical_advisory(ids)
    obs.aliases = tuple(ids)
    obs.uid = f"{base.uid}|{obs.advisory}"
    obs.ecosystem = str(first.get("package_manager") or first.get("type") or "os").lower()
    obs.package = str(first.get("name") or "")
    obs.version = ", ".join(
        sorted({str(p.get("version")) for p in packages if p.get("name") == obs.package and p.get("version")})
    )
    obs.paths = tuple(sorted({str(p["path"]) for p in packages if p.get("path")}))
    obs.location = base.resource
    obs.score = max((s for s in scores if s is not None), default=None)
    obs.epss = number(epss.get("score"), f"{loc}.cve.epss.score")
    obs.kev = vuln.get("is_exploit_available") is True and bool(vuln.get("kev"))
    obs.control = obs.advisory
    obs.scope = f"{base.tool}|{base.account}|{base.region}|{base.resource}"
    return obs
