"""Durable jobs of the incidents domain, each with its payload model: processing accepted webhooks,
escalation steps, notification sends and message updates, the escalation audit, status-update
reminders and filing postmortem action items."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from mamori.core.jobs import PRIORITY_INTAKE, PRIORITY_PAGE, JobContext, JobKind, Payload
from mamori.core.runtime import PeriodicSpec
from mamori.incidents.alerts import service as alerts
from mamori.incidents.oncall import service as paging
from mamori.incidents.response import actions
from mamori.incidents.response import service as response


class ProcessIntake(Payload):
    intake_id: int
    last_id: int | None = None
    """With it, the job processes every accepted payload with an id from intake_id to last_id (one group
    commit of the intake log), each in a savepoint; without it, the one payload, failing as a whole."""


class Escalate(Payload):
    group_id: str
    round: int = Field(ge=0)
    step: int = Field(ge=0)


class Notify(Payload):
    notification_id: str


class UpdateMessages(Payload):
    group_id: str


class AuditEscalations(Payload):
    grace_seconds: int = Field(default=120, ge=0)
    """How late a due escalation step may be before the audit re-enqueues it."""


class UpdateReminder(Payload):
    incident_id: str
    due: str
    """The status update's due time (ISO 8601) when the reminder was set; a later update supersedes it."""


class FileActionItem(Payload):
    item_id: str
    look_first: bool = False
    """Search the tracker for an issue filed by an earlier attempt before creating one."""


def process_intake(ctx: JobContext, payload: ProcessIntake) -> None:
    alerts.process_intake(ctx, intake_id=payload.intake_id, last_id=payload.last_id)


def escalate(ctx: JobContext, payload: Escalate) -> None:
    paging.escalate(ctx, group_id=payload.group_id, round_=payload.round, step_index=payload.step)


def notify(ctx: JobContext, payload: Notify) -> None:
    paging.notify(ctx, notification_id=payload.notification_id)


def update_messages(ctx: JobContext, payload: UpdateMessages) -> None:
    paging.update_messages(ctx, group_id=payload.group_id)


def audit_escalations(ctx: JobContext, payload: AuditEscalations) -> None:
    paging.audit_escalations(ctx, grace_seconds=payload.grace_seconds)


def update_reminder(ctx: JobContext, payload: UpdateReminder) -> None:
    response.update_reminder(ctx, incident_id=payload.incident_id, due=payload.due)


def file_action_item(ctx: JobContext, payload: FileActionItem) -> None:
    actions.file_job(ctx, item_id=payload.item_id, look_first=payload.look_first)


JOBS: list[JobKind[Any]] = [
    JobKind(alerts.PROCESS_JOB, ProcessIntake, process_intake, priority=PRIORITY_INTAKE),
    JobKind(paging.ESCALATE_JOB, Escalate, escalate, priority=PRIORITY_PAGE),
    JobKind(paging.NOTIFY_JOB, Notify, notify, priority=PRIORITY_PAGE),
    JobKind(paging.UPDATE_MESSAGES_JOB, UpdateMessages, update_messages),
    JobKind(paging.AUDIT_JOB, AuditEscalations, audit_escalations),
    JobKind(response.REMINDER_JOB, UpdateReminder, update_reminder),
    JobKind(actions.FILE_JOB, FileActionItem, file_action_item),
]
PERIODIC = [PeriodicSpec(name="incidents.audit_escalations", kind=paging.AUDIT_JOB, interval=timedelta(minutes=1))]
