"""Detections on CloudTrail records, written as configuration (kind CloudTrailDetection): each rule says when
a record alerts (`when`: every condition holds; `unless`: none does) and names the resource it is about.

A condition reads one field path (`userIdentity.type`, `requestParameters.ipPermissions.items[].ipRanges.
items[].cidrIp`; `[]` walks a list) and tests it: `equals`, `in`, `exists`, `matches` (a glob),
`startsWith`, `endsWith`; string operands may name other fields of the record (`"/{requestParameters.
userName}"`). A path with several values passes when any value does. `any` groups conditions with OR. Pure.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

from pydantic import Field, model_validator

from mamori.core.manifest import SpecModel
from mamori.findings.parsers.fields import FieldError, obj, sub, text, timestamp
from mamori.findings.records import SEVERITIES, Batch, Observation, RecordProblem

FORMAT = "cloudtrail"
_MISSING = object()
_TEMPLATE = re.compile(r"\{([A-Za-z0-9_.\[\]]+)\}")
EVENT_DETAIL_TYPES = ("AWS API Call via CloudTrail", "AWS Console Sign In via CloudTrail")


class Condition(SpecModel):
    field: str | None = Field(default=None, description="a field path; [] walks a list")
    equals: str | int | float | bool | None = None
    in_: list[str | int | float | bool] | None = Field(default=None, alias="in")
    exists: bool | None = None
    matches: str | None = None
    starts_with: str | None = None
    ends_with: str | None = None
    any: list[Condition] | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.equals, self.in_, self.exists, self.matches, self.starts_with, self.ends_with]
        given = sum(t is not None for t in tests)
        if self.any is not None:
            if self.field is not None or given:
                raise ValueError("`any` groups conditions; give it no field or test of its own")
            return self
        if self.field is None or given != 1:
            raise ValueError(
                "a condition names a field and exactly one of equals, in, exists, matches, startsWith, endsWith"
            )
        return self


class CloudTrailDetectionSpec(SpecModel):
    title: str = Field(min_length=3)
    severity: str = "MEDIUM"
    description: str = ""
    when: list[Condition] = Field(min_length=1)
    unless: list[Condition] = Field(default_factory=list)
    resource: str = Field(default="userIdentity.arn", description="the field naming what the alert is about")

    @model_validator(mode="after")
    def _severity(self) -> CloudTrailDetectionSpec:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        return self


def values(record: Any, path: str) -> list[Any]:
    """Every value at `path` (none when the path is absent or null)."""
    current: list[Any] = [record]
    for part in path.split("."):
        walk = part.endswith("[]")
        key = part[:-2] if walk else part
        found: list[Any] = []
        for item in current:
            value = item.get(key, _MISSING) if isinstance(item, dict) else _MISSING
            if value is _MISSING or value is None:
                continue
            if walk:
                found.extend(v for v in value if v is not None) if isinstance(value, list) else None
            else:
                found.append(value)
        current = found
    return current


def _fill(template: str, record: Any) -> str | None:
    """A string operand with `{path}` replaced by the record's value; None when a named field is absent."""
    missing = False

    def one(m: re.Match[str]) -> str:
        nonlocal missing
        found = values(record, m.group(1))
        if not found:
            missing = True
            return ""
        return str(found[0])

    out = _TEMPLATE.sub(one, template)
    return None if missing else out


def holds(c: Condition, record: Any) -> bool:
    if c.any is not None:
        return any(holds(inner, record) for inner in c.any)
    assert c.field is not None
    found = values(record, c.field)
    if c.exists is not None:
        return bool(found) is c.exists
    for value in found:
        if c.equals is not None:
            target = _fill(c.equals, record) if isinstance(c.equals, str) else c.equals
            if value == target:
                return True
        elif (c.in_ is not None and value in c.in_) or (isinstance(value, str) and _string_test(c, value, record)):
            return True
    return False


def _string_test(c: Condition, value: str, record: Any) -> bool:
    for operand, test in ((c.matches, fnmatchcase), (c.starts_with, str.startswith), (c.ends_with, str.endswith)):
        if operand is not None:
            filled = _fill(operand, record)
            return filled is not None and bool(test(value, filled))
    return False


def alerts(rule: CloudTrailDetectionSpec, record: Any) -> bool:
    """Whether the record should alert under the rule."""
    return all(holds(c, record) for c in rule.when) and not any(holds(c, record) for c in rule.unless)


def _records(document: Any) -> list[tuple[str, Any]]:
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        return [(f"Records[{i}]", r) for i, r in enumerate(document["Records"])]
    events = document if isinstance(document, list) else [document]
    out = []
    for i, event in enumerate(events):
        loc = f"[{i}]" if isinstance(document, list) else "record"
        if isinstance(event, dict) and event.get("detail-type") in EVENT_DETAIL_TYPES:
            out.append((f"{loc}.detail", event.get("detail")))
        else:
            out.append((loc, event))
    return out


def looks_like(document: Any) -> bool:
    first = _records(document)[0][1] if _records(document) else None
    return isinstance(first, dict) and "eventName" in first and "eventSource" in first


def detect(document: Any, rules: dict[str, CloudTrailDetectionSpec]) -> Batch:
    """Run every rule on every record; an alert is an observation of tool `cloudtrail`, one per rule x
    account x region x resource (repeats in one file are counted on it)."""
    batch = Batch(format=FORMAT)
    records = _records(document)
    batch.total = len(records)
    found: dict[str, Observation] = {}
    for index, (loc, record) in enumerate(records):
        try:
            rec = obj(record, loc)
            for name in ("eventName", "eventSource", "eventTime"):
                text(rec, name, loc)
            when = timestamp(rec.get("eventTime"), f"{loc}.eventTime")
        except FieldError as exc:
            batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
            continue
        for name, rule in sorted(rules.items()):
            if alerts(rule, rec):
                obs = _observation(name, rule, rec, index, when)
                seen = found.get(obs.uid)
                if seen is not None:
                    seen.repeat_count = (seen.repeat_count or 1) + 1
                    seen.raw, seen.updated_at = rec, when
                else:
                    found[obs.uid] = obs
    batch.observations = list(found.values())
    return batch


def _observation(name: str, rule: CloudTrailDetectionSpec, rec: dict[str, Any], index: int, when: Any) -> Observation:
    identity = sub(rec, "userIdentity")
    account = str(rec.get("recipientAccountId") or identity.get("accountId") or "")
    region = str(rec.get("awsRegion") or "")
    resource = next((str(v) for v in values(rec, rule.resource)), "") or f"AWS::::Account:{account}"
    return Observation(
        tool="cloudtrail",
        format=FORMAT,
        uid=f"{name}|{account}|{region}|{resource}",
        kind="detection",
        title=_fill(rule.title, rec) or rule.title,
        index=index,
        raw=rec,
        account=account,
        region=region,
        resource=resource,
        control=name,
        description=rule.description,
        severity=rule.severity,
        updated_at=when,
        repeat_count=1,
        scope=f"cloudtrail|{account}|{region}|{name}",
    )
