"""Escalation and notification as durable jobs: steps fire on time, ack/resolve stops them, sends retry.

A group's policy is snapshotted when it opens. Each step is a job with a dedupe key naming the group,
round and step, so a step fires once even with several workers; a stale job (the group moved on, or
was acknowledged) does nothing. Each send attempt is recorded; a failed send is retried by a new job
with backoff, so the attempt record commits with the job that made it.

A send cannot commit together with its effect, so a worker killed between the two sends again. Every
attempt of a notification carries its `idempotency_key` (email Message-ID, webhook `Idempotency-Key`,
Slack metadata), and an attempt that may follow a delivered one says so (`Message.resend`), so Slack
looks for the message before posting it again and the other channels' receivers can drop the copy.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from mamori.core import auth, deliveries, jobs
from mamori.core.jobs import JobContext
from mamori.core.models import Job, Team, User
from mamori.core.runtime import Runtime
from mamori.incidents.alerts.signing import sign_action
from mamori.incidents.eventing import drill_prefix, group_fields, group_labels
from mamori.incidents.events import AlertGroupPaged
from mamori.incidents.kinds import stored as config
from mamori.incidents.kinds.documents import EscalationPolicySpec, Notify
from mamori.incidents.models import Alert, AlertGroup, Notification, NotificationAttempt
from mamori.incidents.oncall import drills, rotation
from mamori.incidents.oncall.notifiers import NotifyError, Page, message
from mamori.integrations.notify import Notifier, Notifiers, UpdatingNotifier

log = logging.getLogger(__name__)

ESCALATE_JOB, NOTIFY_JOB, AUDIT_JOB = "incidents.escalate", "incidents.notify", "incidents.audit_escalations"
UPDATE_MESSAGES_JOB = "incidents.update_messages"
MAX_SEND_ATTEMPTS = 5
LINK_TTL = timedelta(days=7)


def snapshot(name: str, spec: EscalationPolicySpec) -> dict[str, Any]:
    return {"name": name, "spec": spec.model_dump(mode="json", by_alias=True)}


def start_escalation(session: Session, group: AlertGroup, *, now: datetime) -> None:
    group.step, group.round, group.escalation_done = 0, 0, False
    _schedule_step(session, group, at=now, now=now)


def stop_escalation(session: Session, group: AlertGroup, *, now: datetime) -> None:
    if group.escalation_job_id is not None:
        jobs.cancel(session, job_id=group.escalation_job_id, now=now)
    group.next_escalation_at = None


def _schedule_step(session: Session, group: AlertGroup, *, at: datetime, now: datetime) -> None:
    job = jobs.enqueue(
        session,
        kind=ESCALATE_JOB,
        now=now,
        run_at=at,
        payload={"group_id": group.id, "round": group.round, "step": group.step},
        dedupe_key=f"escalate:{group.id}:{group.round}:{group.step}",
        max_attempts=10,
    )
    group.escalation_job_id, group.next_escalation_at = job.id, at


def escalate(ctx: JobContext, *, group_id: str, round_: int, step_index: int) -> None:
    """Job: fire one step of a group's snapshotted policy, then schedule the next one."""
    session, now = ctx.session, ctx.now
    group = session.get(AlertGroup, group_id, with_for_update=True)
    if group is None or group.status != "triggered" or group.policy_snapshot is None:
        return
    if (group.round, group.step) != (round_, step_index):
        return  # a stale job: the group already moved past this step
    spec = EscalationPolicySpec.model_validate(group.policy_snapshot["spec"])
    step = spec.steps[group.step]
    fired = (group.round, group.step)
    page_targets(ctx.session, ctx.runtime, group, step.notify, now=now)
    if group.step + 1 < len(spec.steps):
        group.step += 1
    elif group.round < spec.repeat:
        group.round, group.step = group.round + 1, 0
    else:
        group.escalation_done, group.next_escalation_at, group.escalation_job_id = True, None, None
        return
    # a step that reached nobody (no such user, no contact) does not wait out its delay: the next one runs now
    wait = step.escalate_after if _reached_someone(session, group.id, *fired) else timedelta(0)
    _schedule_step(session, group, at=now + wait, now=now)


def _reached_someone(session: Session, group_id: str, round_: int, step: int) -> bool:
    """Whether a page of that step was sent or may still be (pending, retrying)."""
    live = select(Notification.id).where(
        Notification.group_id == group_id,
        Notification.round == round_,
        Notification.step == step,
        Notification.status.in_(("pending", "sent")),
    )
    return session.scalar(live.limit(1)) is not None


def _escalate_past_if_unreached(session: Session, group: AlertGroup, *, round_: int, step: int, now: datetime) -> None:
    """After a page failed for good: if nobody of its step was reached and the group still waits for its
    next step, run that step now instead of after the step's delay (a dead address must not cost the
    whole escalation delay)."""
    session.refresh(group, with_for_update=True)  # the escalation job may be moving it at the same time
    waiting = group.next_escalation_at is not None and group.next_escalation_at > now
    if group.status != "triggered" or group.escalation_done or not waiting:
        return
    if _reached_someone(session, group.id, round_, step):
        return
    log.warning("group %s: nobody of step %s was reached; escalating to the next step now", group.id, step + 1)
    _schedule_step_fresh(session, group, now=now)


def _users_for(session: Session, notify: Notify, *, now: datetime) -> list[str]:
    emails = list(notify.users)
    if notify.schedule:
        try:
            shift = rotation.who(config.schedule(session, notify.schedule), now)
        except Exception:  # a schedule deleted since the snapshot: page nobody from it, loudly
            log.exception("escalation: schedule %s unavailable", notify.schedule)
            shift = None
        if shift is not None and shift.user:
            emails.append(shift.user)
    return list(dict.fromkeys(emails))


def page_targets(session: Session, runtime: Runtime, group: AlertGroup, notify: Notify, *, now: datetime) -> int:
    """Create notifications (and their send jobs) for everyone a step names; returns how many. A drill's group
    pages only the drill's participants, whatever the step names (the others get a skipped notification)."""
    created, rules = 0, drills.rules_of_group(session, runtime, group.id)
    for email in _users_for(session, notify, now=now):
        if not drills.may_page(rules, email):
            _notification(session, group, email, "none", "", now=now, status="skipped", error=_not_in(rules))
            continue
        user = auth.find_user(session, email)  # case-insensitive: User documents keep the case they were given
        if user is None:
            created += _notification(
                session, group, email, "none", "", now=now, status="failed", error=f"no user with email {email}"
            )
            continue
        for channel, target, delay in _contacts(user):
            created += _notification(session, group, email, channel, target, now=now, delay=delay)
    if notify.team and rules is not None:  # a team's channel reaches people outside the drill
        _notification(session, group, None, "team", notify.team, now=now, status="skipped", error=_not_in(rules))
    elif notify.team:
        team = session.scalar(select(Team).where(Team.name == notify.team))
        if team is not None and team.slack_channel:
            created += _notification(session, group, None, "slack", team.slack_channel, now=now)
        if team is not None and team.email:
            created += _notification(session, group, None, "email", team.email, now=now)
    return created


def _not_in(rules: drills.DrillRules | None) -> str:
    return f"not a participant of drill {rules.drill_id if rules else '?'}"


def _contacts(user: User) -> list[tuple[str, str, timedelta]]:
    """Every contact at once, unless the user has personal rules (contact type + delay)."""
    contacts = [
        (c["type"], str(c.get("address") or c.get("user") or c.get("url") or c.get("number") or ""))
        for c in user.contacts or []
    ]
    if not user.notification_rules:
        return [(t, target, timedelta(0)) for t, target in contacts]
    out: list[tuple[str, str, timedelta]] = []
    for rule in user.notification_rules:
        delay = timedelta(minutes=int(rule.get("delayMinutes", rule.get("delay_minutes", 0))))
        out.extend((t, target, delay) for t, target in contacts if t == rule.get("contact"))
    return out


def _notification(
    session: Session,
    group: AlertGroup,
    email: str | None,
    channel: str,
    target: str,
    *,
    now: datetime,
    delay: timedelta = timedelta(0),
    status: str = "pending",
    error: str | None = None,
) -> int:
    note = Notification(
        group_id=group.id,
        incident_id=group.incident_id,
        user_email=email,
        channel=channel,
        target=target,
        step=group.step,
        round=group.round,
        status=status,
        attempts=0,
        last_error=error,
        created_at=now,
    )
    session.add(note)
    session.flush()
    if status == "pending":
        jobs.enqueue(
            session,
            kind=NOTIFY_JOB,
            now=now,
            delay=delay,
            payload={"notification_id": note.id},
            dedupe_key=f"notify:{note.id}:1",
            max_attempts=3,
        )
    return 1


def notifiers(runtime: Runtime) -> dict[str, Notifier]:
    """The runtime's notifiers by contact type (the shared `Notifiers`, built by the wiring)."""
    return dict(runtime.state(Notifiers).by_channel)


def page_for(runtime: Runtime, group: AlertGroup, user: str | None, *, now: datetime) -> Page:
    key, base = runtime.settings.signing_key(), runtime.settings.base_url.rstrip("/")
    ack = sign_action(key, group_id=group.id, action="ack", user=user, expires=now + LINK_TTL)
    resolve = sign_action(key, group_id=group.id, action="resolve", user=user, expires=now + LINK_TTL)
    session = object_session(group)
    labels = group_labels(session, group.id) if session is not None else {}
    annotations = _first_annotations(session, group.id) if session is not None else {}
    return Page(
        group_id=group.id,
        title=drill_prefix(group.title, labels),  # a game day's alerts say so in every channel
        severity=group.severity,
        service=group.service,
        status=group.status,
        ack_url=f"{base}/hooks/incidents/action/{ack}",
        resolve_url=f"{base}/hooks/incidents/action/{resolve}",
        details_url=f"{base}/alerts/{group.id}",
        labels=labels,
        annotations=annotations,
    )


def _first_annotations(session: Session, group_id: str) -> dict[str, str]:
    found = session.scalar(
        select(Alert.annotations).where(Alert.group_id == group_id).order_by(Alert.first_seen_at, Alert.id).limit(1)
    )
    return {str(k): str(v) for k, v in (found or {}).items()}


def notify(ctx: JobContext, *, notification_id: str) -> None:
    """Job: send one notification; on failure record the attempt and schedule a retry with backoff."""
    session, now = ctx.session, ctx.now
    note = session.get(Notification, notification_id)
    if note is None or note.status != "pending":
        return
    group = session.get(AlertGroup, note.group_id) if note.group_id else None
    if group is not None and group.status != "triggered" and note.attempts == 0:
        note.status, note.last_error = "skipped", f"group already {group.status}"
        return
    sender = notifiers(ctx.runtime).get(note.channel)
    # This job's claim committed before it ran: a second claim means an earlier run died or lost its lease,
    # maybe after its send went out; an earlier failed attempt may have been delivered too (a timeout).
    resend = ctx.attempt > 1 or note.attempts > 0
    note.attempts += 1
    try:
        if sender is None:
            raise NotifyError(f"no notifier configured for {note.channel}")
        if group is None:
            raise NotifyError("notification has no alert group")
        page = message(page_for(ctx.runtime, group, note.user_email, now=now))
        receipt = sender.send(replace(page, idempotency_key=note.idempotency_key, resend=resend), note.target)
    except NotifyError as exc:
        session.add(NotificationAttempt(notification_id=note.id, at=now, ok=False, detail=str(exc)[:2000]))
        _log_delivery(session, note, now=now, ok=False, detail=str(exc))
        note.last_error = str(exc)[:2000]
        if exc.permanent or note.attempts >= MAX_SEND_ATTEMPTS:  # a bad address or config: retrying cannot help
            note.status = "failed"
            if group is not None:
                _escalate_past_if_unreached(session, group, round_=note.round, step=note.step, now=now)
            return
        jobs.enqueue(
            session,
            kind=NOTIFY_JOB,
            now=now,
            delay=jobs.backoff(note.attempts),
            payload={"notification_id": note.id},
            dedupe_key=f"notify:{note.id}:{note.attempts + 1}",
            max_attempts=3,
        )
        return
    session.add(NotificationAttempt(notification_id=note.id, at=now, ok=True, detail=receipt[:2000]))
    _log_delivery(session, note, now=now, ok=True, detail=receipt)
    note.status, note.sent_at, note.last_error = "sent", now, None
    if group is not None and not _already_paged(session, note):
        person = note.user_email or note.target
        paged = AlertGroupPaged(
            **group_fields(session, group), person=person, channel=note.channel, step=note.step, at=now
        )
        ctx.runtime.bus.publish(session, paged, now=now)
    if note.channel == "slack" and receipt.startswith("slack:"):
        note.message_ref = receipt.removeprefix("slack:")[:300]
    if group is not None and group.status != "triggered":
        refresh_messages(session, group, now=now)  # acknowledged while this send was being retried


def _already_paged(session: Session, note: Notification) -> bool:
    """Whether another contact method already reached this person for this step (one page per person and step)."""
    other = select(Notification.id).where(
        Notification.id != note.id,
        Notification.group_id == note.group_id,
        Notification.user_email == note.user_email,
        Notification.round == note.round,
        Notification.step == note.step,
        Notification.status == "sent",
    )
    return note.user_email is not None and session.scalar(other.limit(1)) is not None


def _log_delivery(session: Session, note: Notification, *, now: datetime, ok: bool, detail: str) -> None:
    deliveries.record(
        session,
        at=now,
        source="incidents",
        kind="page",
        channel=note.channel,
        target=note.target,
        subject=f"incidents:alert_group:{note.group_id}",
        ok=ok,
        detail=detail,
        attempt=note.attempts,
    )


def refresh_messages(session: Session, group: AlertGroup, *, now: datetime) -> None:
    """After ack/resolve: rewrite the group's sent Slack messages to show the new status (a job)."""
    has_messages = session.scalar(
        select(Notification.id).where(Notification.group_id == group.id, Notification.message_ref.is_not(None)).limit(1)
    )
    if has_messages is None:
        return
    jobs.enqueue(
        session,
        kind=UPDATE_MESSAGES_JOB,
        now=now,
        payload={"group_id": group.id},
        dedupe_key=f"update-messages:{group.id}:{group.status}:{now.isoformat()}",
        max_attempts=5,
    )


def update_messages(ctx: JobContext, *, group_id: str) -> None:
    """Job: chat.update every Slack message of the group; idempotent, so a retry redoes them all."""
    group = ctx.session.get(AlertGroup, group_id)
    if group is None:
        return
    notes = ctx.session.scalars(
        select(Notification).where(Notification.group_id == group.id, Notification.message_ref.is_not(None))
    ).all()
    for note in notes:
        sender = notifiers(ctx.runtime).get(note.channel)
        if sender is None or not isinstance(sender, UpdatingNotifier) or note.message_ref is None:
            continue
        page = page_for(ctx.runtime, group, note.user_email, now=ctx.now)
        acted_by = group.resolved_by if group.status == "resolved" else group.acknowledged_by
        page = replace(page, acted_by=acted_by)
        try:
            sender.update(replace(message(page, update=True), idempotency_key=note.idempotency_key), note.message_ref)
        except NotifyError as exc:
            ctx.session.add(NotificationAttempt(notification_id=note.id, at=ctx.now, ok=False, detail=f"update: {exc}"))
            raise


def audit_escalations(ctx: JobContext, *, grace_seconds: int) -> None:
    """Periodic job: find triggered groups whose next step is overdue with no live job, and restart it."""
    grace = timedelta(seconds=grace_seconds)
    stalled = find_stalled(ctx.session, now=ctx.now, grace=grace, for_update=True)
    for group in stalled:
        log.warning("escalation of group %s stalled; rescheduling step %s", group.id, group.step)
        _schedule_step_fresh(ctx.session, group, now=ctx.now)


def find_stalled(
    session: Session, *, now: datetime, grace: timedelta = timedelta(minutes=2), for_update: bool = False
) -> list[AlertGroup]:
    """Triggered groups whose next step is overdue with no live job. The auditor passes `for_update`: it then
    judges each group as it is now and keeps it locked until it rescheduled it, and skips a group another
    transaction holds (an escalation step or an ack in progress is not a stall), so it never writes a
    stale step over theirs."""
    query = select(AlertGroup).where(
        AlertGroup.status == "triggered",
        AlertGroup.escalation_done.is_(False),
        AlertGroup.policy_snapshot.is_not(None),
    )
    if for_update:
        query = query.with_for_update(skip_locked=True).execution_options(populate_existing=True)
    candidates = session.scalars(query).all()
    out = []
    for group in candidates:
        due = group.next_escalation_at
        job = session.get(Job, group.escalation_job_id) if group.escalation_job_id else None
        alive = job is not None and job.status in ("queued", "running") and (due is None or now - due < grace)
        if not alive and (due is None or now - due >= grace):
            out.append(group)
    return out


def _schedule_step_fresh(session: Session, group: AlertGroup, *, now: datetime) -> None:
    job = jobs.enqueue(
        session,
        kind=ESCALATE_JOB,
        now=now,
        payload={"group_id": group.id, "round": group.round, "step": group.step},
        dedupe_key=f"escalate:{group.id}:{group.round}:{group.step}:audit:{now.isoformat()}",
        max_attempts=10,
    )
    group.escalation_job_id, group.next_escalation_at = job.id, now
