"""Scoring a drill: (scenario, timeline, start, end, now) -> each expectation met or missed with its time and
evidence, and the points per participant and for the team. Pure: no I/O and no clock, so a drill recorded
long ago can be scored again after a rule changes.

Semantics:
- An expectation's deadline counts from the firing of the inject named in `after`, else from the drill's start.
- Met by the deadline: full points. Met later (but while the drill still counted): half points ("late").
  Not met: none ("missed"), unless the deadline is still ahead and the drill still runs ("pending"). A
  postmortem's deadline (days) outlives the drill, so it stays pending until it passes.
- Declare: the severity in force at the deadline (or at the declaration, if later) against the expected one.
  Too high costs a quarter per level (at most half); too low costs three quarters for one level and all for
  two, since under-declaring is the costlier mistake (fewer people, slower updates).
- Status updates: half the points for the first update by its deadline, half for keeping the cadence (the share
  of gaps between updates, and from the last update to the incident's resolution or the drill's end, that were
  no longer than the cadence). An update is a posted update (with or without a change of status) or a change of
  status made without posting one; a change posted with its update is that one update.
- Each point is credited to the people whose actions are its evidence (a role counts for its holder and for
  whoever assigned it), for the debrief rather than for a ranking.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mamori.gamedays.scenario import Expectation, GameDaySpec

INJECT_FIRED = "inject_fired"
ALERT_OPENED = "alert_opened"
PAGED = "paged"
ACKNOWLEDGED = "acknowledged"
ALERT_RESOLVED = "alert_resolved"
DECLARED = "incident_declared"
SEVERITY_CHANGED = "severity_changed"
ROLE_ASSIGNED = "role_assigned"
STATUS_UPDATED = "status_updated"
UPDATE_POSTED = "update_posted"
INCIDENT_RESOLVED = "incident_resolved"
POSTMORTEM = "postmortem_published"
FLAG_CHANGED = "flag_changed"
RELEASE_FROZEN = "release_frozen"
ACTION = "action"
CLUE_REVEALED = "clue_revealed"
CHAOS = "chaos_activity"
INJECT_TAKEN = "inject_taken"
NOTE = "note"
ENTRY_KINDS = (
    INJECT_FIRED,
    ALERT_OPENED,
    PAGED,
    ACKNOWLEDGED,
    ALERT_RESOLVED,
    DECLARED,
    SEVERITY_CHANGED,
    ROLE_ASSIGNED,
    STATUS_UPDATED,
    UPDATE_POSTED,
    INCIDENT_RESOLVED,
    POSTMORTEM,
    FLAG_CHANGED,
    RELEASE_FROZEN,
    ACTION,
    CLUE_REVEALED,
    CHAOS,
    INJECT_TAKEN,
    NOTE,
    "started",
    "ended",
    "aborted",
)
LATE_FACTOR = 0.5
MITIGATING_STATUSES = ("monitoring", "resolved")


@dataclass(frozen=True)
class Entry:
    """One line of a drill's timeline as scoring sees it."""

    at: datetime
    kind: str
    actor: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    ref: int | None = None
    """The stored entry's id, so a score can point at its evidence."""


@dataclass(frozen=True)
class Outcome:
    expectation: str
    kind: str
    outcome: str
    """met | late | partial | missed | pending"""
    points: float
    weight: float
    deadline: datetime | None
    met_at: datetime | None
    took: timedelta | None
    evidence: tuple[Entry, ...]
    credited: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class ParticipantScore:
    user: str
    role: str | None
    """Their role in the scenario (None: acted in the drill without being listed)."""
    points: float
    credited: tuple[str, ...]
    incident_roles: tuple[str, ...]
    acknowledged: int


@dataclass(frozen=True)
class Score:
    outcomes: list[Outcome]
    team_percent: float
    points: float
    possible: float
    participants: list[ParticipantScore]
    time_to_acknowledge: timedelta | None
    time_to_declare: timedelta | None
    time_to_mitigate: timedelta | None


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime | None
    now: datetime

    @property
    def closes(self) -> datetime:
        return self.end or self.now


def _anchor(expectation: Expectation, start: datetime, entries: Sequence[Entry]) -> datetime | None:
    if expectation.after is None:
        return start
    for entry in entries:
        if entry.kind == INJECT_FIRED and entry.data.get("inject") == expectation.after:
            return entry.at
    return None


def _deadline_of(expectation: Expectation) -> timedelta:
    part = getattr(expectation, expectation.kind)
    deadline: timedelta = part.first_within if expectation.kind == "status_updates" else part.within
    return deadline


ENTRY_OF = {
    "acknowledge": (ACKNOWLEDGED, None),
    "declare": (DECLARED, None),
    "assign_role": (ROLE_ASSIGNED, "role"),
    "status_updates": (STATUS_UPDATED, None),
    "kill_switch": (FLAG_CHANGED, "flag"),
    "freeze": (RELEASE_FROZEN, "service"),
    "action": (ACTION, "name"),
    "postmortem": (POSTMORTEM, None),
}
"""Which timeline entry meets each kind of expectation, and the field that must name what it expects."""


def _same_act(entry: Entry) -> tuple[datetime, object]:
    return entry.at, entry.data.get("incident_id")


def _updates(entries: Sequence[Entry]) -> list[Entry]:
    """Posted updates, and changes of status made without posting one (the status change an update carries is
    published with it, at the same instant for the same incident: it is not a second update)."""
    posted = {_same_act(e) for e in entries if e.kind == UPDATE_POSTED}
    return [e for e in entries if e.kind == UPDATE_POSTED or (e.kind == STATUS_UPDATED and _same_act(e) not in posted)]


def _matcher(expectation: Expectation) -> Callable[[Entry], bool]:
    """The test an entry must pass to meet `expectation` (built once: timelines can be long)."""
    entry_kind, field_name = ENTRY_OF[expectation.kind]
    if field_name is None:
        return lambda entry: entry.kind == entry_kind
    wanted = getattr(getattr(expectation, expectation.kind), field_name)
    return lambda entry: entry.kind == entry_kind and entry.data.get(field_name) == wanted


def _people(entry: Entry) -> tuple[str, ...]:
    people = [entry.actor] if entry.actor else []
    person = entry.data.get("person")
    if entry.kind == ROLE_ASSIGNED and isinstance(person, str) and person not in people:
        people.insert(0, person)
    return tuple(people)


def severity_rank(name: str) -> int | None:
    """SEV1 -> 1 (the most severe); None for a name that is not SEV<n>."""
    digits = name.upper().removeprefix("SEV")
    return int(digits) if name.upper().startswith("SEV") and digits.isdigit() else None


def severity_factor(declared: str, expected: str) -> tuple[float, str]:
    """How much of a declaration's points a severity keeps, and why (see the module's docstring)."""
    got, want = severity_rank(declared), severity_rank(expected)
    if got is None or want is None:
        return (1.0, "") if declared == expected else (0.0, f"declared {declared}, expected {expected}")
    if got == want:
        return 1.0, ""
    if got < want:
        return max(0.5, 1 - 0.25 * (want - got)), f"declared {declared}: higher than the expected {expected}"
    kept = 0.25 if got - want == 1 else 0.0
    return kept, f"declared {declared}: lower than the expected {expected}"


def _severity_at(entries: Sequence[Entry], at: datetime) -> str | None:
    current = None
    for entry in entries:
        if entry.at > at:
            break
        if entry.kind in (DECLARED, SEVERITY_CHANGED) and isinstance(entry.data.get("severity"), str):
            current = str(entry.data["severity"])
    return current


def _cadence_share(updates: Sequence[Entry], entries: Sequence[Entry], cadence: timedelta, closes: datetime) -> float:
    resolved = next((e.at for e in entries if e.kind == INCIDENT_RESOLVED), None)
    stop = min(resolved, closes) if resolved else closes
    times = [u.at for u in updates if u.at <= stop]
    if not times:
        return 0.0
    marks = [*times, stop]
    gaps = [b - a for a, b in itertools.pairwise(marks) if b > a]
    return 1.0 if not gaps else sum(1 for g in gaps if g <= cadence) / len(gaps)


def _judge(expectation: Expectation, entries: Sequence[Entry], window: _Window) -> Outcome:
    weight, kind = expectation.weight, expectation.kind
    anchor = _anchor(expectation, window.start, entries)
    if anchor is None:
        return Outcome(expectation.id, kind, "missed", 0.0, weight, None, None, None, (), (), "its inject never fired")
    deadline = anchor + _deadline_of(expectation)
    counted = [e for e in entries if e.at >= anchor and (kind == "postmortem" or e.at <= window.closes)]
    matches = _matcher(expectation)
    hits = _updates(counted) if kind == "status_updates" else [e for e in counted if matches(e)]
    if not hits:
        still = deadline > window.now and (window.end is None or kind == "postmortem")
        outcome = "pending" if still else "missed"
        return Outcome(expectation.id, kind, outcome, 0.0, weight, deadline, None, None, (), (), "")
    first = hits[0]
    factor, note, evidence = (1.0 if first.at <= deadline else LATE_FACTOR), "", [first]
    if kind == "declare":
        severity = _severity_at(entries, max(deadline, first.at)) or str(first.data.get("severity", ""))
        sev_factor, note = severity_factor(severity, expectation.declare.severity if expectation.declare else "")
        factor *= sev_factor
        evidence += [e for e in entries if e.kind == SEVERITY_CHANGED and e.at <= max(deadline, first.at)]
    elif kind == "status_updates" and expectation.status_updates and expectation.status_updates.cadence:
        share = _cadence_share(hits, entries, expectation.status_updates.cadence, window.closes)
        factor = factor * 0.5 + 0.5 * share
        note = f"cadence kept in {share:.0%} of the intervals"
        evidence = hits
    if first.at > deadline:
        outcome = "late"
    elif factor >= 1.0:
        outcome = "met"
    else:
        outcome = "partial" if factor > 0 else "missed"
    credited = tuple(dict.fromkeys(p for e in evidence for p in _people(e)))
    return Outcome(
        expectation.id,
        kind,
        outcome,
        round(weight * factor, 4),
        weight,
        deadline,
        first.at,
        first.at - anchor,
        tuple(evidence),
        credited,
        note,
    )


def _first_after(entries: Sequence[Entry], kinds: tuple[str, ...], origin: datetime) -> timedelta | None:
    for entry in entries:
        if entry.kind in kinds and entry.at >= origin:
            if entry.kind == STATUS_UPDATED and entry.data.get("status") not in MITIGATING_STATUSES:
                continue
            return entry.at - origin
    return None


def _participants(spec: GameDaySpec, entries: Sequence[Entry], outcomes: list[Outcome]) -> list[ParticipantScore]:
    roles = {p.user: p.role for p in spec.participants}
    people = list(roles) + sorted({p for e in entries for p in _people(e) if p not in roles and "@" in p})
    out = []
    for user in people:
        mine = [o for o in outcomes if user in o.credited]
        held = tuple(
            dict.fromkeys(
                str(e.data.get("role")) for e in entries if e.kind == ROLE_ASSIGNED and e.data.get("person") == user
            )
        )
        acks = sum(1 for e in entries if e.kind == ACKNOWLEDGED and e.actor == user)
        points = round(sum(o.points for o in mine), 4)
        out.append(ParticipantScore(user, roles.get(user), points, tuple(o.expectation for o in mine), held, acks))
    return out


def score(
    spec: GameDaySpec, entries: Sequence[Entry], *, start: datetime, end: datetime | None, now: datetime
) -> Score:
    """Score a drill that started at `start` and ended at `end` (None: still running) as of `now`."""
    ordered = sorted((e for e in entries if e.at >= start), key=lambda e: (e.at, e.ref or 0))
    window = _Window(start=start, end=end, now=now)
    outcomes = [_judge(expectation, ordered, window) for expectation in spec.expectations]
    points = round(sum(o.points for o in outcomes), 4)
    possible = sum(o.weight for o in outcomes)
    first_alert = next(
        (e.at for e in ordered if e.kind == INJECT_FIRED and e.data.get("inject_kind") == "alert"), start
    )
    return Score(
        outcomes=outcomes,
        team_percent=round(100 * points / possible, 1) if possible else 0.0,
        points=points,
        possible=possible,
        participants=_participants(spec, ordered, outcomes),
        time_to_acknowledge=_first_after(ordered, (ACKNOWLEDGED,), first_alert),
        time_to_declare=_first_after(ordered, (DECLARED,), first_alert),
        time_to_mitigate=_first_after(ordered, (FLAG_CHANGED, RELEASE_FROZEN, STATUS_UPDATED), first_alert),
    )


@dataclass(frozen=True)
class TeamScore:
    team: str
    members: tuple[str, ...]
    points: float
    percent: float
    credited: tuple[str, ...]


def team_scores(result: Score, teams_of: Mapping[str, Sequence[str]]) -> list[TeamScore]:
    """Per team (of the people in `teams_of`: person -> teams): the points of every expectation one of its members
    is credited with, each counted once, out of everything the drill expected."""
    members: dict[str, list[str]] = {}
    for person, teams in teams_of.items():
        for team in teams:
            members.setdefault(team, []).append(person)
    out = []
    for team, people in sorted(members.items()):
        mine = [o for o in result.outcomes if set(o.credited) & set(people)]
        points = round(sum(o.points for o in mine), 4)
        percent = round(100 * points / result.possible, 1) if result.possible else 0.0
        out.append(TeamScore(team, tuple(sorted(people)), points, percent, tuple(o.expectation for o in mine)))
    return out
