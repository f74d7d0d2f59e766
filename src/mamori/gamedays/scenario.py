"""The GameDay scenario as written in YAML: participants, a script of injects on a timeline, and the expected
responses with their deadlines. Pure spec models (no I/O); `kinds.py` registers them as a configuration kind."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from mamori.core.documents import SpecModel
from mamori.core.duration import Duration, PositiveDuration
from mamori.core.urls import check_http_url

DrillKind = Literal["outage", "security", "vendor-breach", "tabletop"]
ParticipantRole = Literal["game-master", "responder", "observer"]
AlertSource = Literal["alertmanager", "datadog", "generic"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
"""An inject's or an expectation's id: letters, digits, `_`, `.` and `-`."""


class Participant(SpecModel):
    user: str = Field(min_length=1, max_length=200)
    """The person (their e-mail, as paging and incidents name them)."""
    role: ParticipantRole = "responder"


class Schedule(SpecModel):
    start: str | None = None
    """When the drill starts (ISO 8601 with an offset); unset means it is started by hand."""
    duration: PositiveDuration = timedelta(hours=2)
    """After this long from the start, the drill ends and whatever was not met is missed."""


class AlertInject(SpecModel):
    """A synthetic alert sent through Mamori's real intake (so routing, paging and escalation run for real)."""

    integration: str = Field(min_length=1, max_length=200)
    """The applied Integration the payload is posted to."""
    source: AlertSource = "alertmanager"
    title: str = Field(min_length=1, max_length=400)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class SloEventsInject(SpecModel):
    """Request events that make an SLO's budget burn (marked as the drill's, so no real budget counts them)."""

    slo: str = Field(min_length=1, max_length=200)
    good: int = Field(default=0, ge=0)
    total: int = Field(ge=1)
    over: PositiveDuration = timedelta(minutes=5)

    @model_validator(mode="after")
    def _good_within_total(self) -> SloEventsInject:
        if self.good > self.total:
            raise ValueError(f"good ({self.good}) cannot be more than total ({self.total})")
        return self


class NewsInject(SpecModel):
    """A vendor-breach news item or an advisory for the vulnerability watch."""

    title: str = Field(min_length=1, max_length=400)
    vendor: str | None = None
    summary: str = Field(default="", max_length=4000)
    link: Annotated[str, AfterValidator(check_http_url)] | None = None


class ClueInject(SpecModel):
    """A clue the game master reveals on cue (a tabletop's next line)."""

    text: str = Field(min_length=1, max_length=4000)


class ChaosInject(SpecModel):
    """A fault run by a Chaos Toolkit experiment (a file beside the scenario); its journal joins the timeline."""

    experiment: str = Field(min_length=1, max_length=500)
    rollbacks: bool = True
    """Run the experiment's rollbacks when the drill is aborted."""
    document: dict[str, Any] | None = None
    """The experiment itself, read from `experiment` when the scenario is validated."""


INJECT_KINDS = ("alert", "slo_events", "news", "clue", "chaos", "fis")


class FisInject(SpecModel):
    """A fault run by an AWS FIS experiment template (a file beside the scenario); its state-change events are
    accepted onto the drill's timeline."""

    template: str = Field(min_length=1, max_length=500)
    experiment_template_id: str | None = Field(default=None, max_length=200)
    """The template's id in AWS, to tell its events apart."""
    document: dict[str, Any] | None = None
    """The template itself, read from `template` when the scenario is validated."""


class Inject(SpecModel):
    id: Name
    at: Duration | None = None
    """Offset from the drill's start; unset on a clue means it waits for the game master's reveal."""
    alert: AlertInject | None = None
    slo_events: SloEventsInject | None = None
    news: NewsInject | None = None
    clue: ClueInject | None = None
    chaos: ChaosInject | None = None
    fis: FisInject | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Inject:
        given = [k for k in INJECT_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "an inject is exactly one of alert, sloEvents, news, clue, chaos or fis"
                + (f" (this one has {', '.join(given)})" if given else "")
            )
        if self.at is None and given[0] != "clue":
            raise ValueError(f"a {given[0]} inject needs `at` (its offset from the drill's start)")
        return self

    @property
    def kind(self) -> str:
        for name in INJECT_KINDS:
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated to have one kind")


class Within(SpecModel):
    within: PositiveDuration


class Acknowledge(Within):
    """Someone acknowledges the drill's page."""


class Declare(Within):
    """An incident is declared with this severity: higher is a smaller penalty than lower."""

    severity: str = Field(pattern=r"^SEV[0-9]+$")


class AssignRole(Within):
    role: Literal["commander", "communications", "scribe", "sme"]


class StatusUpdates(SpecModel):
    first_within: PositiveDuration
    cadence: PositiveDuration | None = None
    """Then at least one update per this interval until the incident is resolved (the severity's cadence)."""


class KillSwitch(Within):
    flag: str = Field(min_length=1, max_length=200)


class Freeze(Within):
    service: str = Field(min_length=1, max_length=200)


class Action(Within):
    """A named step recorded by a responder or the game master: a runbook step, a credential rotation."""

    name: str = Field(min_length=1, max_length=200)


class Postmortem(Within):
    """A postmortem published within this long (days, usually) of the drill's start."""


class Expectation(SpecModel):
    id: Name
    after: str | None = None
    """Count the deadline from this inject's firing instead of the drill's start."""
    weight: float = Field(default=1.0, gt=0, le=100)
    acknowledge: Acknowledge | None = None
    declare: Declare | None = None
    assign_role: AssignRole | None = None
    status_updates: StatusUpdates | None = None
    kill_switch: KillSwitch | None = None
    freeze: Freeze | None = None
    action: Action | None = None
    postmortem: Postmortem | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Expectation:
        given = [k for k in EXPECTATION_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            names = "acknowledge, declare, assignRole, statusUpdates, killSwitch, freeze, action or postmortem"
            raise ValueError(
                f"an expectation is exactly one of {names}" + (f" (has {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in EXPECTATION_KINDS if getattr(self, k) is not None)


EXPECTATION_KINDS = (
    "acknowledge",
    "declare",
    "assign_role",
    "status_updates",
    "kill_switch",
    "freeze",
    "action",
    "postmortem",
)


class AbortOn(SpecModel):
    """What stops the drill by itself: a real incident this severe, a real SLO burn on a drill service."""

    severities: list[str] = Field(default_factory=lambda: ["SEV1", "SEV2"])
    slo_burn: bool = True


class GameDaySpec(SpecModel):
    title: str = Field(min_length=1, max_length=300)
    kind: DrillKind
    services: list[str] = Field(default_factory=list)
    participants: list[Participant] = Field(min_length=1)
    schedule: Schedule = Field(default_factory=Schedule)
    injects: list[Inject] = Field(default_factory=list)
    expectations: list[Expectation] = Field(default_factory=list)
    abort_on: AbortOn = Field(default_factory=AbortOn)
    file_tickets: bool = False
    """Drills file no real tickets unless the scenario says so."""
