"""AWS Fault Injection Service documents: checking an experiment template a scenario references, and reading
the "FIS Experiment State Change" events EventBridge delivers into timeline lines. Pure.

A template has `actions` (name -> {actionId "aws:...", parameters, targets: {role: target name}, startAfter}),
`targets` (name -> {resourceType, selectionMode, ...}) and `stopConditions` (a list of {source, value}).
A state-change event carries `detail-type` "FIS Experiment State Change", `source` "aws.fis", `time`, and a
`detail` with `experiment-id`, `experiment-template-id` and `new-state` {status, reason}.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STATE_CHANGE = "FIS Experiment State Change"
STATUSES = ("pending", "initiating", "running", "completed", "stopping", "stopped", "failed", "cancelled")


def check_template(data: Any) -> None:
    """Raise ValueError naming the first field that keeps `data` from being an FIS experiment template."""
    if not isinstance(data, dict):
        raise ValueError("an AWS FIS experiment template is a JSON object")
    actions, targets = data.get("actions"), data.get("targets") or {}
    if not isinstance(actions, dict) or not actions:
        raise ValueError("actions is required: a non-empty object of named actions (is this an SSM document?)")
    if not isinstance(targets, dict):
        raise ValueError("targets must be an object of named targets")
    for name, action in actions.items():
        if not isinstance(action, dict) or not str(action.get("actionId", "")).startswith("aws:"):
            raise ValueError(f"actions.{name}.actionId must name an FIS action such as aws:ec2:stop-instances")
        for role, target in (action.get("targets") or {}).items():
            if target not in targets:
                raise ValueError(f"actions.{name}.targets.{role}: no target {target!r} in targets")
        for other in action.get("startAfter") or []:
            if other not in actions:
                raise ValueError(f"actions.{name}.startAfter: no action {other!r}")
    stops = data.get("stopConditions")
    if not isinstance(stops, list) or not stops or not all(isinstance(s, dict) and s.get("source") for s in stops):
        raise ValueError("stopConditions must list at least one {source: ...} (source none for no condition)")


def summary(data: dict[str, Any]) -> str:
    actions = sorted({str(a.get("actionId")) for a in data.get("actions", {}).values()})
    return f"{data.get('description') or 'FIS experiment'} ({', '.join(actions)})"


@dataclass(frozen=True)
class StateChange:
    event_id: str
    at: datetime
    experiment_id: str
    template_id: str | None
    status: str
    reason: str

    @property
    def text(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"AWS FIS experiment {self.experiment_id} {self.status}{why}"


def parse_state_change(event: Any, where: str = "event") -> StateChange:
    """One EventBridge event; ValueError naming the bad field."""
    if not isinstance(event, dict):
        raise ValueError(f"{where} must be an object")
    if event.get("detail-type") != STATE_CHANGE or event.get("source") != "aws.fis":
        raise ValueError(f"{where}: expected detail-type {STATE_CHANGE!r} from source aws.fis")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise ValueError(f"{where}.detail must be an object")
    state = detail.get("new-state")
    if not isinstance(state, dict) or state.get("status") not in STATUSES:
        raise ValueError(f"{where}.detail.new-state.status must be one of {', '.join(STATUSES)}")
    experiment = detail.get("experiment-id")
    if not isinstance(experiment, str) or not experiment:
        raise ValueError(f"{where}.detail.experiment-id is required")
    try:
        at = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        raise ValueError(f"{where}.time must be an ISO 8601 time") from None
    template = detail.get("experiment-template-id")
    return StateChange(
        event_id=str(event.get("id") or f"{experiment}:{state['status']}:{event.get('time')}")[:200],
        at=at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC),
        experiment_id=experiment[:200],
        template_id=str(template)[:200] if template else None,
        status=str(state["status"]),
        reason=str(state.get("reason") or "")[:500],
    )


def parse_events(body: Any) -> list[StateChange]:
    """One event or a list of them (all checked before any is used)."""
    items = body if isinstance(body, list) else [body]
    return [
        parse_state_change(item, f"events[{i}]" if isinstance(body, list) else "event") for i, item in enumerate(items)
    ]
