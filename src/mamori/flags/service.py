"""Use cases of the flags domain: store flag sets from configuration, change flags with audit, reasons and
approvals, ramps' rollouts and promotion between environments (serving is in `serving`)."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from openfeature.exception import OpenFeatureError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from mamori.core import audit, catalog, timeline
from mamori.core.audit import Actor
from mamori.core.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from mamori.flags import etags, flagd_format
from mamori.flags.diff import diff_lines
from mamori.flags.evaluator import FlagEvaluator, Resolution, compile_flag_set
from mamori.flags.models import FlagChange, FlagEnvironment
from mamori.flags.rollouts import rollout_flag, rollout_percent
from mamori.flags.schemas import FlagSetSpec
from mamori.flags.serving import get_environment, list_environments, note_commit, to_context


def store_flag_set(session: Session, *, name: str, spec: FlagSetSpec, now: datetime, actor: Actor) -> FlagEnvironment:
    # Locked like an API edit: an edit that read the old set must not write it back over this one.
    row = session.get(FlagEnvironment, spec.environment, with_for_update=True, populate_existing=True)
    if row is None:
        row = FlagEnvironment(environment=spec.environment, version=0)
        session.add(row)
    before = copy.deepcopy(row.document) if row.document is not None else None
    row.flag_set, row.fractional, row.service = name, spec.fractional, spec.service
    row.require_approval, row.require_reason = spec.require_approval, spec.reason_required
    limit = spec.ofrep_rate_limit
    row.rate_limit = (
        {"requests": limit.requests, "per_seconds": limit.per.total_seconds()} if limit is not None else None
    )
    _replace_document(session, row, spec.flagd, now=now)
    timeline.record(
        session,
        at=now,
        kind="flag_change",
        source="flags",
        service=spec.service,
        title=f"flag set {name} applied to {spec.environment} by {actor.name}",
        data={"environment": spec.environment, "diff": diff_lines(before, spec.flagd)[:50]},
    )
    return row


def delete_flag_set(session: Session, *, name: str) -> None:
    for row in session.scalars(select(FlagEnvironment).where(FlagEnvironment.flag_set == name)):
        session.delete(row)


def _replace_document(session: Session, row: FlagEnvironment, document: dict[str, Any], *, now: datetime) -> None:
    environment = row.environment
    event.listen(session, "after_commit", lambda _s: note_commit(environment), once=True)
    row.document = copy.deepcopy(document)
    row.version = (row.version or 0) + 1
    row.etag = etags.environment_etag(row.document, row.fractional)
    row.updated_at = now
    session.flush()


def check_flagd(
    document: Any, *, loc_prefix: str = "", file: str | None = None, ref: str | None = None
) -> list[Problem]:
    """Every problem of a flagd document (format, semantics, compilation) as kernel Problems."""
    found = [
        Problem(loc=f"{loc_prefix}{loc}" if loc else loc_prefix.rstrip("."), msg=msg, file=file, document=ref)
        for loc, msg in flagd_format.problems(document)
    ]
    if not found:
        try:
            compile_flag_set(flagd_format.normalize(document), "cbor")
        except OpenFeatureError as exc:
            found.append(
                Problem(
                    loc=loc_prefix.rstrip("."), msg=exc.error_message or "invalid flag set", file=file, document=ref
                )
            )
    return found


def validate_document(document: dict[str, Any]) -> None:
    """Raise ValidationFailed naming every problem; the caller then stores nothing."""
    problems = check_flagd(document)
    if problems:
        raise ValidationFailed(
            f"the change would make an invalid flag set ({len(problems)} problem(s))", problems=problems
        )


def change_flag(
    session: Session,
    *,
    environment: str,
    key: str,
    flag: dict[str, Any] | None,
    action: str,
    actor: Actor,
    reason: str | None,
    now: datetime,
    if_match: tuple[str, ...] | None = None,
) -> FlagChange:
    """Set (or with flag=None delete) one flag: applied at once, or pending when the environment needs approval.

    The environment's row stays locked until the caller commits, so concurrent changes take turns; with
    `if_match` (the tags of an If-Match header) the change goes ahead only if the flag is still as read."""
    row = get_environment(session, environment=environment, for_update=True)
    reason = (reason or "").strip() or None
    if row.require_reason and reason is None:
        raise ValidationFailed(
            f"a reason is required for changes in {environment}",
            problems=[Problem(loc="reason", msg="required in this environment")],
        )
    before = row.document.get("flags", {}).get(key)
    if if_match is not None:
        check_if_match(row, key=key, if_match=if_match)
    if flag is None and before is None:
        raise NotFound(f"no flag {key!r} in {environment}")
    document = _with_flag(row.document, key, flag)
    validate_document(document)
    change = FlagChange(
        environment=environment,
        flag_key=key,
        action=action[:32],
        before=before,
        after=flag,
        status="pending" if row.require_approval and actor.source != "system" else "applied",
        actor=actor.name,
        reason=reason,
        created_at=now,
    )
    session.add(change)
    session.flush()
    if change.status == "applied":
        _apply(session, row, change, actor=actor, now=now)
    else:
        audit.record(
            session,
            actor=actor,
            action="request_change",
            object_type="Flag",
            object_id=f"{environment}/{key}",
            at=now,
            before=before,
            after=flag,
            reason=reason,
        )
    return change


def current_etag(row: FlagEnvironment, *, key: str) -> str | None:
    """The ETag of flag `key` as `row` holds it now (None when there is no such flag)."""
    flag = row.document.get("flags", {}).get(key)
    return None if flag is None else etags.flag_etag(row.environment, key, flag)


def check_if_match(row: FlagEnvironment, *, key: str, if_match: tuple[str, ...]) -> None:
    """Raise PreconditionFailed (412) unless If-Match `if_match` holds for flag `key` of `row`."""
    now_tag = current_etag(row, key=key)
    if not etags.holds(if_match, flag=now_tag, environment=row.etag):
        state = f"its ETag is now {now_tag}" if now_tag else "it does not exist"
        raise etags.PreconditionFailed(
            f"If-Match {', '.join(if_match)} does not hold for flag {key!r} in {row.environment}: {state} "
            f"(the flag set's ETag is {row.etag}); GET the flag again, then retry with its new ETag"
        )


def _with_flag(document: dict[str, Any], key: str, flag: dict[str, Any] | None) -> dict[str, Any]:
    new = copy.deepcopy(document)
    flags = new.setdefault("flags", {})
    if flag is None:
        flags.pop(key, None)
    else:
        flags[key] = copy.deepcopy(flag)
    return new


def _apply(session: Session, row: FlagEnvironment, change: FlagChange, *, actor: Actor, now: datetime) -> None:
    current = row.document.get("flags", {}).get(change.flag_key)
    if current != change.before:
        change.status = "rejected"
        change.decided_at = now
        raise Conflict(f"flag {change.flag_key!r} changed since this change was requested; request it again")
    _replace_document(session, row, _with_flag(row.document, change.flag_key, change.after), now=now)
    audit.record(
        session,
        actor=actor,
        action=change.action,
        object_type="Flag",
        object_id=f"{row.environment}/{change.flag_key}",
        at=now,
        before=change.before,
        after=change.after,
        reason=change.reason,
    )
    service_name = row.service
    timeline.record(
        session,
        at=now,
        kind="flag_change",
        source="flags",
        service=service_name,
        team=catalog.service_team(session, service_name) if service_name else None,
        title=f"{change.flag_key} {change.action} in {row.environment} by {change.actor}",
        data={
            "environment": row.environment,
            "flag": change.flag_key,
            "reason": change.reason,
            "diff": diff_lines(change.before, change.after),
        },
        ref=f"flag_change:{change.id}",
    )


def decide_change(
    session: Session, *, change_id: str, approve: bool, actor: Actor, now: datetime, reason: str | None = None
) -> FlagChange:
    change = session.get(FlagChange, change_id)
    if change is None:
        raise NotFound(f"no flag change {change_id!r}")
    if change.status != "pending":
        raise Conflict(f"change {change_id} is {change.status}, not pending")
    if approve and actor.name == change.actor:
        raise Forbidden("a second person must approve this change")
    change.decided_by, change.decided_at = actor.name, now
    if not approve:
        return _reject(session, change, actor=actor, now=now, reason=reason)
    row = get_environment(session, environment=change.environment, for_update=True)
    if row.document.get("flags", {}).get(change.flag_key) != change.before:
        # Stale: approving it would overwrite a later change. It is rejected, and that is kept (the caller
        # commits), rather than raised, which would roll the rejection back and leave it pending forever.
        reason = "the flag changed since this change was requested; request it again"
        return _reject(session, change, actor=actor, now=now, reason=reason)
    validate_document(_with_flag(row.document, change.flag_key, change.after))
    change.status = "applied"
    _apply(session, row, change, actor=actor, now=now)
    return change


def _reject(session: Session, change: FlagChange, *, actor: Actor, now: datetime, reason: str | None) -> FlagChange:
    change.status = "rejected"
    audit.record(
        session,
        actor=actor,
        action="reject_change",
        object_type="Flag",
        object_id=f"{change.environment}/{change.flag_key}",
        at=now,
        reason=reason,
    )
    return change


def list_changes(session: Session, *, environment: str | None = None, status: str | None = None) -> list[FlagChange]:
    query = select(FlagChange).order_by(FlagChange.created_at.desc())
    if environment:
        query = query.where(FlagChange.environment == environment)
    if status:
        query = query.where(FlagChange.status == status)
    return list(session.scalars(query))


def get_flag(session: Session, *, environment: str, key: str, for_update: bool = False) -> dict[str, Any]:
    """A copy of one flag; a caller that will change it passes `for_update` (see `serving.get_environment`)."""
    row = get_environment(session, environment=environment, for_update=for_update)
    flag = row.document.get("flags", {}).get(key)
    if flag is None:
        raise NotFound(f"no flag {key!r} in {environment}")
    return copy.deepcopy(dict(flag))


def toggle(
    session: Session,
    *,
    environment: str,
    key: str,
    enabled: bool,
    actor: Actor,
    reason: str | None,
    now: datetime,
    if_match: tuple[str, ...] | None = None,
) -> FlagChange:
    """The kill switch: state ENABLED or DISABLED, nothing else changes."""
    flag = get_flag(session, environment=environment, key=key, for_update=True)
    flag["state"] = "ENABLED" if enabled else "DISABLED"
    return change_flag(
        session,
        environment=environment,
        key=key,
        flag=flag,
        action="enable" if enabled else "disable",
        actor=actor,
        reason=reason,
        now=now,
        if_match=if_match,
    )


def set_rollout(
    session: Session,
    *,
    environment: str,
    key: str,
    percent: int,
    actor: Actor,
    reason: str | None,
    now: datetime,
    if_match: tuple[str, ...] | None = None,
) -> FlagChange:
    flag = rollout_flag(get_flag(session, environment=environment, key=key, for_update=True), percent)
    return change_flag(
        session,
        environment=environment,
        key=key,
        flag=flag,
        action=f"rollout {percent}%",
        actor=actor,
        reason=reason,
        now=now,
        if_match=if_match,
    )


ENVIRONMENT_ORDER = ("dev", "development", "test", "qa", "stage", "staging", "preprod", "canary", "prod", "production")


def ordered_environments(session: Session) -> list[str]:
    """Environments from first to last stage: the usual names in their usual order, others alphabetically first."""
    names = [row.environment for row in list_environments(session)]
    rank = {name: i for i, name in enumerate(ENVIRONMENT_ORDER)}
    return sorted(names, key=lambda name: (rank.get(name.lower(), -1), name))


def next_environment(session: Session, *, environment: str) -> str | None:
    """The environment a flag of `environment` is promoted to (None for the last one)."""
    names = ordered_environments(session)
    if environment not in names:
        raise NotFound(f"no flag set for environment {environment!r}")
    index = names.index(environment)
    return names[index + 1] if index + 1 < len(names) else None


def promote(
    session: Session, *, key: str, source: str, target: str, actor: Actor, reason: str | None, now: datetime
) -> FlagChange:
    """Copy one flag's configuration from one environment to the next."""
    if source == target:
        raise ValidationFailed(f"promote {key!r}: source and target are both {source}")
    flag = get_flag(session, environment=source, key=key)
    if get_environment(session, environment=target, for_update=True).document.get("flags", {}).get(key) == flag:
        raise Conflict(f"flag {key!r} is already the same in {target} as in {source}")
    return change_flag(
        session,
        environment=target,
        key=key,
        flag=flag,
        action=f"promote from {source}",
        actor=actor,
        reason=reason,
        now=now,
    )


def try_evaluate_document(document: dict[str, Any], fractional: str, key: str, context: dict[str, Any]) -> Resolution:
    """Offline evaluation of one flag of a flagd document (the CLI's `flags eval`)."""
    evaluator = FlagEvaluator(fractional=fractional)  # type: ignore[arg-type]
    try:
        evaluator.set_flags(flagd_format.normalize(document))
    except OpenFeatureError as exc:
        return Resolution(
            key=key, value=None, variant=None, reason="ERROR", error_code="PARSE_ERROR", error_message=exc.error_message
        )
    return evaluator.evaluate(key, to_context(context))


def flagd_json(row: FlagEnvironment) -> str:
    """The environment's flag set as flagd reads it (what `GET .../flagd.json` serves)."""
    document = dict(row.document)
    metadata = {**(document.get("metadata") or {}), "flagSetId": row.flag_set, "version": str(row.version)}
    return json.dumps({**document, "metadata": metadata}, sort_keys=True)


def flag_summaries(session: Session, *, environment: str) -> list[dict[str, Any]]:
    row = get_environment(session, environment=environment)
    out = []
    for key, flag in sorted(row.document.get("flags", {}).items()):
        out.append(
            {
                "key": key,
                "state": flag.get("state"),
                "default_variant": flag.get("defaultVariant"),
                "variants": flag.get("variants"),
                "targeting": flag.get("targeting"),
                "rollout_percent": rollout_percent(flag),
            }
        )
    return out
