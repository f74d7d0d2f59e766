"""Prowler's own outputs besides OCSF: the CSV report (semicolon-separated, Prowler 4 and 5) and the v3 JSON
report (a list of check results). Both are scans: a run re-checks account x region x check.

A row or result reads like the OCSF record of the same check (tool `prowler`, the same source id
`finding uid | resource | check` and the same identity), so the CSV and OCSF outputs of one run meet on
one source of one finding. PASS resolves; FAIL and MANUAL (v3: INFO) stay open; a muted result is suppressed
(workflow SUPPRESSED, as Prowler's OCSF status Suppressed).

CSV columns, as Prowler documents them (docs "Reporting", CSV): AUTH_METHOD, TIMESTAMP, ACCOUNT_UID, ...,
FINDING_UID, PROVIDER, CHECK_ID, CHECK_TITLE, CHECK_TYPE, STATUS, STATUS_EXTENDED, MUTED, SERVICE_NAME,
SUBSERVICE_NAME, SEVERITY, RESOURCE_TYPE, RESOURCE_UID, RESOURCE_NAME, RESOURCE_DETAILS, RESOURCE_TAGS,
PARTITION, REGION, DESCRIPTION, RISK, RELATED_URL, ... (the order may vary; columns are found by name).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from functools import partial
from typing import Any

from mamori.findings.parsers.fields import FieldError, obj, text, timestamp, type_name
from mamori.findings.records import Batch, Observation, RecordProblem, normalise_severity

CSV_FORMAT = "prowler-csv"
JSON_FORMAT = "prowler-json"
TOOL = "prowler"
CSV_REQUIRED = ("FINDING_UID", "CHECK_ID", "STATUS", "SEVERITY", "ACCOUNT_UID", "REGION", "RESOURCE_UID", "TIMESTAMP")
JSON_REQUIRED = ("FindingUniqueId", "CheckID", "Status", "Severity", "AccountId", "Region", "AssessmentStartTime")
STATUSES = {"PASS": "resolved", "FAIL": "active", "MANUAL": "active", "INFO": "active"}


def looks_like_csv(payload: bytes) -> bool:
    """A Prowler CSV report: its header line names CHECK_ID and FINDING_UID, separated by semicolons."""
    head = payload[:4096].lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    return b";" in head and b"CHECK_ID" in head and b"FINDING_UID" in head


def looks_like_json(document: Any) -> bool:
    first = document[0] if isinstance(document, list) and document else None
    return isinstance(first, dict) and "CheckID" in first and "FindingUniqueId" in first


def parse_csv(payload: bytes, *, name: str = "document") -> Batch:
    """Every row of the report; a bad row is a problem naming its line and column, the others are read."""
    batch = Batch(format=CSV_FORMAT, scan=True)
    try:
        content = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        batch.problems.append(RecordProblem(0, "line 1", f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return batch
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=";")
    header = reader.fieldnames or []
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        found = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
        msg = (
            f"the header lacks the column(s) {', '.join(missing)} of a Prowler CSV report (found {found or 'nothing'})"
        )
        batch.problems.append(RecordProblem(0, "line 1", msg))
        return batch
    for index, row in enumerate(reader):
        batch.total += 1
        _keep(batch, index, partial(_csv_row, row, len(header), index, f"line {reader.line_num}"))
    return batch


def parse_json(document: Any) -> Batch:
    """Every result of a Prowler v3 JSON report (`-M json`: a list of check results)."""
    batch = Batch(format=JSON_FORMAT, scan=True)
    if not isinstance(document, list):
        batch.problems.append(
            RecordProblem(0, "$", f"expected a list of Prowler check results, got {type_name(document)}")
        )
        return batch
    batch.total = len(document)
    for index, item in enumerate(document):
        _keep(batch, index, partial(_json_result, item, index, f"[{index}]"))
    return batch


def _keep(batch: Batch, index: int, read: Callable[[], Observation]) -> None:
    """The record's observation into the batch, or its FieldError as the record's problem."""
    try:
        obs = read()
    except FieldError as exc:
        batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
        return
    batch.observations.append(obs)
    batch.scopes.add(obs.scope)


def _csv_row(row: dict[Any, Any], columns: int, index: int, loc: str) -> Observation:
    if None in row:
        raise FieldError(loc, f"{len(row[None])} more field(s) than the header's {columns} columns")
    raw = {k: v for k, v in row.items() if v is not None}
    column = lambda n: (row.get(n) or "").strip()  # noqa: E731
    return _observation(index=index, loc=loc, raw=raw, column=column, names=_CSV_NAMES)


def _json_result(item: Any, index: int, loc: str) -> Observation:
    record = obj(item, loc)
    for field in JSON_REQUIRED:
        text(record, field, loc)
    tags = record.get("ResourceTags")
    if tags is not None and not isinstance(tags, dict | list):
        raise FieldError(f"{loc}.ResourceTags", f"expected an object, got {type_name(tags)}")
    column = lambda n: _json_value(record, n)  # noqa: E731
    return _observation(index=index, loc=loc, raw=record, column=column, names=_JSON_NAMES)


_CSV_NAMES = {
    "uid": "FINDING_UID",
    "check": "CHECK_ID",
    "title": "CHECK_TITLE",
    "status": "STATUS",
    "muted": "MUTED",
    "severity": "SEVERITY",
    "account": "ACCOUNT_UID",
    "region": "REGION",
    "resource": "RESOURCE_UID",
    "resource_name": "RESOURCE_NAME",
    "resource_type": "RESOURCE_TYPE",
    "tags": "RESOURCE_TAGS",
    "time": "TIMESTAMP",
    "detail": "STATUS_EXTENDED",
    "description": "DESCRIPTION",
    "url": "RELATED_URL",
}
_JSON_NAMES = {
    "uid": "FindingUniqueId",
    "check": "CheckID",
    "title": "CheckTitle",
    "status": "Status",
    "muted": "Muted",
    "severity": "Severity",
    "account": "AccountId",
    "region": "Region",
    "resource": "ResourceArn",
    "resource_name": "ResourceId",
    "resource_type": "ResourceType",
    "tags": "ResourceTags",
    "time": "AssessmentStartTime",
    "detail": "StatusExtended",
    "description": "Description",
    "url": "RelatedUrl",
}


def _json_value(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if name == "ResourceTags":
        return _json_tags(value)
    if isinstance(value, bool):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise FieldError(name, f"expected a string, got {type_name(value)}")
    return str(value).strip()


def _json_tags(value: Any) -> str:
    """v3 writes tags as an object, or as a list of {Key, Value}; as the CSV's `k=v | k=v`."""
    if isinstance(value, dict):
        return " | ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return " | ".join(f"{t.get('Key')}={t.get('Value')}" for t in value if isinstance(t, dict) and t.get("Key"))
    return ""


def _observation(*, index: int, loc: str, raw: dict[str, Any], column: Any, names: dict[str, str]) -> Observation:
    def need(field: str) -> str:
        try:
            value: str = column(names[field])
        except FieldError as exc:
            raise FieldError(f"{loc}.{names[field]}", exc.msg) from None
        if not value:
            raise FieldError(f"{loc}.{names[field]}", "required field is missing")
        return value

    def optional(field: str) -> str:
        try:
            return str(column(names[field]))
        except FieldError as exc:
            raise FieldError(f"{loc}.{names[field]}", exc.msg) from None

    status_word = need("status").upper()
    if status_word not in STATUSES:
        raise FieldError(f"{loc}.{names['status']}", f"expected one of {', '.join(STATUSES)}, got {status_word!r}")
    severity = normalise_severity(need("severity"))
    if severity is None:
        msg = f"expected one of critical, high, medium, low, informational, got {optional('severity')!r}"
        raise FieldError(f"{loc}.{names['severity']}", msg)
    muted_word = optional("muted").lower()
    if muted_word not in {"", "true", "false"}:
        raise FieldError(f"{loc}.{names['muted']}", f"expected True or False, got {optional('muted')!r}")
    check, account, region = need("check"), need("account"), need("region")
    resource = optional("resource") or optional("resource_name")
    if not resource:
        raise FieldError(f"{loc}.{names['resource']}", f"required field is missing (and {names['resource_name']} too)")
    updated = timestamp(need("time"), f"{loc}.{names['time']}")
    return Observation(
        tool=TOOL,
        format=CSV_FORMAT if names is _CSV_NAMES else JSON_FORMAT,
        uid="|".join([need("uid"), resource, check]),
        kind="cloud",
        title=optional("title") or check,
        index=index,
        raw=raw,
        account=account,
        region=region,
        resource=resource,
        resource_type=optional("resource_type"),
        control=check,
        description=optional("detail") or optional("description"),
        severity=severity,
        status=STATUSES[status_word],  # type: ignore[arg-type]
        workflow="SUPPRESSED" if muted_word == "true" else status_word,
        updated_at=updated,
        tags=_tags(optional("tags")),
        scope=f"{TOOL}|{account}|{region}|{check}",
        url=optional("url"),
    )


def _tags(value: str) -> dict[str, str]:
    """`key=value | key2=value2` (Prowler's rendering of resource tags) as a mapping."""
    out: dict[str, str] = {}
    for part in value.split(" | ") if value else ():
        key, _, val = part.partition("=")
        if key.strip():
            out[key.strip()] = val.strip()
    return out
