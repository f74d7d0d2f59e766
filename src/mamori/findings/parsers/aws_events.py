"""AWS service events as EventBridge delivers them: GuardDuty findings ("GuardDuty Finding", with repeat
counts; sample findings are marked and kept out) and AWS Config "Config Rules Compliance Change" events (a
rule going NON_COMPLIANT opens, back to COMPLIANT resolves). A bare GuardDuty finding (the event's `detail`,
as GetFindings returns it) is read too."""

from __future__ import annotations

from typing import Any

from mamori.findings.parsers.fields import FieldError, number, obj, sub, text, timestamp
from mamori.findings.records import Batch, Observation, RecordProblem, severity_from_score

GUARDDUTY = "guardduty-event"
CONFIG = "config-event"
CONFIG_DETAIL_TYPE = "Config Rules Compliance Change"
OPEN_COMPLIANCE = {"NON_COMPLIANT"}
CLOSED_COMPLIANCE = {"COMPLIANT", "NOT_APPLICABLE"}


def _events(document: Any) -> list[Any]:
    return document if isinstance(document, list) else [document]


def looks_like_guardduty(document: Any) -> bool:
    first = _events(document)[0] if _events(document) else None
    if not isinstance(first, dict):
        return False
    if first.get("source") == "aws.guardduty":
        return first.get("detail-type") == "GuardDuty Finding"
    return ":guardduty:" in str(first.get("arn", "")) and "service" in first


def looks_like_config(document: Any) -> bool:
    first = _events(document)[0] if _events(document) else None
    return isinstance(first, dict) and (first.get("detail-type") == CONFIG_DETAIL_TYPE or "invokingEvent" in first)


def _each(document: Any, read: Any, fmt: str) -> Batch:
    batch = Batch(format=fmt)
    events = _events(document)
    batch.total = len(events)
    for index, event in enumerate(events):
        loc = f"[{index}]" if isinstance(document, list) else "event"
        try:
            obs = read(obj(event, loc), loc, index)
        except FieldError as exc:
            batch.problems.append(RecordProblem(index, exc.loc, exc.msg))
            continue
        if obs.sample:
            batch.skipped.append(f"{loc}: a GuardDuty sample finding ({obs.uid})")
            continue
        batch.observations.append(obs)
    return batch


def parse_guardduty(document: Any) -> Batch:
    return _each(document, _guardduty, GUARDDUTY)


def _resource(detail: dict[str, Any], account: str, region: str) -> tuple[str, str]:
    """The affected resource as Security Hub names it, so both copies of one GuardDuty finding agree."""
    res = sub(detail, "resource")
    kind = str(res.get("resourceType") or "")
    instance = sub(res, "instanceDetails")
    key = sub(res, "accessKeyDetails")
    buckets = [b for b in res.get("s3BucketDetails") or [] if isinstance(b, dict)]
    eks = sub(res, "eksClusterDetails")
    if kind == "Instance" and instance.get("instanceId"):
        return f"arn:aws:ec2:{region}:{account}:instance/{instance['instanceId']}", "AwsEc2Instance"
    if kind == "AccessKey" and key.get("accessKeyId"):
        return f"AWS::IAM::AccessKey:{key['accessKeyId']}", "AwsIamAccessKey"
    if buckets and buckets[0].get("arn"):
        return str(buckets[0]["arn"]), "AwsS3Bucket"
    if eks.get("arn"):
        return str(eks["arn"]), "AwsEksCluster"
    return f"AWS::::Account:{account}", kind or "AwsAccount"


def _guardduty(event: dict[str, Any], loc: str, index: int) -> Observation:
    is_event = "detail" in event
    detail = obj(event["detail"], f"{loc}.detail") if is_event else event
    where = f"{loc}.detail" if is_event else loc
    arn = text(detail, "arn", where)
    account = text(detail, "accountId", where)
    region = text(detail, "region", where)
    finding_type = text(detail, "type", where)
    score = number(detail.get("severity"), f"{where}.severity")
    if score is None:
        raise FieldError(f"{where}.severity", "required field is missing (a number 0.1 .. 10)")
    service = obj(detail.get("service") or {}, f"{where}.service")
    info = sub(service, "additionalInfo")
    resource, resource_type = _resource(detail, account, region)
    count = number(service.get("count"), f"{where}.service.count")
    return Observation(
        tool="guardduty",
        format=GUARDDUTY,
        uid=arn,
        kind="detection",
        title=text(detail, "title", where),
        index=index,
        raw=event,
        account=account,
        region=region,
        resource=resource,
        resource_type=resource_type,
        control=finding_type,
        description=str(detail.get("description") or ""),
        severity=severity_from_score(score),
        score=score,
        confidence=number(detail.get("confidence"), f"{where}.confidence"),
        status="resolved" if service.get("archived") is True else "active",
        workflow="ARCHIVED" if service.get("archived") is True else "NEW",
        updated_at=timestamp(detail.get("updatedAt"), f"{where}.updatedAt"),
        repeat_count=int(count) if count is not None else None,
        sample=info.get("sample") is True or str(info.get("sample")).lower() == "true",
        scope=f"guardduty|{account}|{region}|{finding_type}",
    )


def parse_config(document: Any) -> Batch:
    return _each(document, _config, CONFIG)


def _config(event: dict[str, Any], loc: str, index: int) -> Observation:
    if "invokingEvent" in event:
        raise FieldError(
            f"{loc}.invokingEvent",
            "an AWS Config rule invocation (what a rule's Lambda receives), not a compliance-change event",
        )
    if event.get("detail-type") != CONFIG_DETAIL_TYPE:
        raise FieldError(f"{loc}.detail-type", f"expected {CONFIG_DETAIL_TYPE!r}, got {event.get('detail-type')!r}")
    detail = obj(event.get("detail"), f"{loc}.detail")
    where = f"{loc}.detail"
    rule = text(detail, "configRuleName", where)
    resource_id = text(detail, "resourceId", where)
    resource_type = text(detail, "resourceType", where)
    account = text(detail, "awsAccountId", where, required=False) or text(event, "account", loc)
    region = text(detail, "awsRegion", where, required=False) or text(event, "region", loc)
    new = obj(detail.get("newEvaluationResult"), f"{where}.newEvaluationResult")
    compliance = text(new, "complianceType", f"{where}.newEvaluationResult")
    if compliance not in OPEN_COMPLIANCE | CLOSED_COMPLIANCE | {"INSUFFICIENT_DATA"}:
        raise FieldError(
            f"{where}.newEvaluationResult.complianceType",
            f"expected NON_COMPLIANT, COMPLIANT, NOT_APPLICABLE or INSUFFICIENT_DATA, got {compliance!r}",
        )
    when = new.get("resultRecordedTime") or detail.get("notificationCreationTime") or event.get("time")
    return Observation(
        tool="config",
        format=CONFIG,
        uid=f"{detail.get('configRuleARN') or rule}|{resource_type}|{resource_id}",
        kind="cloud",
        title=f"{rule}: {resource_type} {resource_id} is {compliance}",
        index=index,
        raw=event,
        account=account,
        region=region,
        resource=resource_id,
        resource_type=resource_type,
        control=rule,
        description=str(new.get("annotation") or ""),
        severity="MEDIUM",
        status="resolved" if compliance in CLOSED_COMPLIANCE else "active",
        workflow=compliance,
        updated_at=timestamp(when, f"{where}.newEvaluationResult.resultRecordedTime"),
        scope=f"config|{account}|{region}|{rule}",
    )
