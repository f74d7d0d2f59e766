"""Chaos Toolkit documents: checking an experiment and reading a run's journal into timeline lines. Pure.

An experiment (chaostoolkit's format) has a title and a non-empty `method` of activities, each an object
with a `type` of action or probe, a `name` and a `provider`. A journal (what `chaos run` writes to
journal.json) has `status`, `deviated`, `start`/`end` and the `run` and `rollbacks` lists of activity runs,
each with its activity, `status`, `start`, `end`, and `steady_states.before/after` (whether the hypothesis held);
its times are UTC (older releases write them without an offset, newer with +00:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ACTIVITY_TYPES = ("action", "probe")
JOURNAL_STATUSES = ("completed", "failed", "aborted", "interrupted")


def _activity_problem(activity: Any, where: str) -> str | None:
    if not isinstance(activity, dict):
        return f"{where} must be an object"
    if activity.get("type") not in ACTIVITY_TYPES:
        return f"{where}.type must be action or probe"
    if not isinstance(activity.get("name"), str) or not activity["name"]:
        return f"{where}.name is required"
    if not isinstance(activity.get("provider"), dict) and not isinstance(activity.get("ref"), str):
        return f"{where}.provider is required"
    return None


def check_experiment(data: Any) -> None:
    """Raise ValueError naming the first thing that keeps `data` from being a Chaos Toolkit experiment."""
    if not isinstance(data, dict):
        raise ValueError("a Chaos Toolkit experiment is a JSON object")
    if not isinstance(data.get("title"), str) or not data["title"]:
        raise ValueError("title is required")
    method = data.get("method")
    if not isinstance(method, list) or not method:
        raise ValueError("method must be a non-empty list of activities")
    for index, activity in enumerate(method):
        problem = _activity_problem(activity, f"method[{index}]")
        if problem:
            raise ValueError(problem)
    for index, activity in enumerate(data.get("rollbacks") or []):
        problem = _activity_problem(activity, f"rollbacks[{index}]")
        if problem:
            raise ValueError(problem)


@dataclass(frozen=True)
class JournalLine:
    at: datetime
    phase: str
    """experiment | steady-state | run | rollback"""
    name: str
    status: str
    text: str


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _runs(journal: dict[str, Any], key: str, phase: str) -> list[JournalLine]:
    runs = journal.get(key) or []
    if not isinstance(runs, list):
        raise ValueError(f"{key} must be a list")
    out = []
    for index, run in enumerate(runs):
        where = f"{key}[{index}]"
        if not isinstance(run, dict) or not isinstance(run.get("activity"), dict):
            raise ValueError(f"{where} must be an object with an activity")
        name = str(run["activity"].get("name") or "activity")
        status = str(run.get("status") or "unknown")
        kind = str(run["activity"].get("type") or "activity")
        text = f"{phase} {kind} {name}: {status}"
        if run.get("exception"):
            text += " (raised an exception)"
        out.append(JournalLine(_time(run.get("start"), f"{where}.start"), phase, name, status, text))
    return out


def _steady_states(journal: dict[str, Any]) -> list[JournalLine]:
    """One line per checked hypothesis (before and after the method): met or not, at its first probe's start."""
    states = journal.get("steady_states")
    if states is None:
        return []
    if not isinstance(states, dict):
        raise ValueError("steady_states must be an object")
    out = []
    for phase in ("before", "after"):
        state = states.get(phase)
        if state is None:
            continue
        if not isinstance(state, dict) or not isinstance(state.get("steady_state_met"), bool):
            raise ValueError(f"steady_states.{phase}.steady_state_met must be true or false")
        probes = state.get("probes") or []
        first = probes[0] if isinstance(probes, list) and probes and isinstance(probes[0], dict) else {}
        at = first.get("start") or journal.get("start" if phase == "before" else "end")
        met = "met" if state["steady_state_met"] else "not met"
        where = f"steady_states.{phase}.probes[0].start" if first.get("start") else "start"
        out.append(JournalLine(_time(at, where), "steady-state", phase, met, f"steady state {phase} the method: {met}"))
    return out


def parse_journal(journal: Any) -> list[JournalLine]:
    """The lines a journal adds to a drill's timeline, oldest first; ValueError naming the bad field."""
    if not isinstance(journal, dict):
        raise ValueError("a Chaos Toolkit journal is a JSON object")
    status = journal.get("status")
    if status not in JOURNAL_STATUSES:
        raise ValueError(f"status must be one of {', '.join(JOURNAL_STATUSES)}, got {status!r}")
    experiment = journal.get("experiment")
    title = str(experiment.get("title")) if isinstance(experiment, dict) and experiment.get("title") else "experiment"
    start = _time(journal.get("start"), "start")
    lines = [JournalLine(start, "experiment", title, "started", f"chaos experiment started: {title}")]
    lines += _steady_states(journal) + _runs(journal, "run", "run") + _runs(journal, "rollbacks", "rollback")
    end = _time(journal.get("end"), "end") if journal.get("end") is not None else start
    deviated = " (steady state deviated)" if journal.get("deviated") else ""
    lines.append(JournalLine(end, "experiment", title, str(status), f"chaos experiment {status}{deviated}: {title}"))
    return sorted(lines, key=lambda line: line.at)
