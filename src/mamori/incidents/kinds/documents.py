"""The incidents domain's configuration kinds: AlertRoute, Integration, Schedule, EscalationPolicy, SeverityLevel."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mamori.core.catalog import check_time_zone
from mamori.core.duration import Duration, PositiveDuration
from mamori.core.manifest import SpecModel
from mamori.incidents.alerts.matchers import parse_matcher_list

EMAIL = r"^[^@\s]+@[^@\s]+$"
Day = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
DAYS: tuple[Day, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_HANDOFF = re.compile(r"^(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+)?(\d\d:\d\d)$")
SourceType = Literal["alertmanager", "grafana", "datadog", "generic", "pagerduty"]


def parse_clock(value: str) -> time:
    match = _CLOCK.match(value)
    if match is None:
        raise ValueError(f"expected a time of day HH:MM, got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


class RouteSet(SpecModel):
    service: str | None = None
    team: str | None = None
    severity: str | None = None
    escalation_policy: str | None = None


class Route(SpecModel):
    matchers: list[str] = Field(default_factory=list)
    set: RouteSet = Field(default_factory=RouteSet)
    continue_: bool = Field(default=False, alias="continue")

    @field_validator("matchers")
    @classmethod
    def _parse(cls, value: list[str]) -> list[str]:
        for text in value:
            parse_matcher_list(text)
        return value


class AlertRouteSpec(SpecModel):
    group_by: list[str] = Field(default_factory=lambda: ["alertname"])
    routes: list[Route] = Field(default_factory=list)
    default: RouteSet = Field(default_factory=RouteSet)


class FieldMapping(SpecModel):
    """For generic webhooks: dotted paths into the JSON body."""

    key: str = "id"
    title: str = "title"
    status: str = "status"
    resolved_values: list[str] = Field(default_factory=lambda: ["resolved", "ok", "recovered", "closed"])
    labels: str | None = "labels"
    annotations: str | None = None
    alerts: str | None = None
    """Path of a list of alerts in the body; unset means the body is one alert."""


class IntegrationSpec(SpecModel):
    type: SourceType
    route: str
    fields: FieldMapping | None = None
    routing_key: str | None = None


class Rotation(SpecModel):
    type: Literal["daily", "weekly", "custom"]
    handoff: str | None = None
    length: Duration | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Rotation:
        if self.type == "custom":
            if self.length is None or self.length.total_seconds() <= 0:
                raise ValueError("a custom rotation needs a positive length, e.g. length: 12h")
            if self.handoff is not None:
                raise ValueError("a custom rotation hands off every `length` from the layer start; drop handoff")
            return self
        if self.length is not None:
            raise ValueError(f"length is only for custom rotations, not {self.type}")
        handoff = self.handoff or ("Mon 09:00" if self.type == "weekly" else "09:00")
        match = _HANDOFF.match(handoff)
        if match is None:
            raise ValueError(f"bad handoff {handoff!r}: expected 'HH:MM' (daily) or 'Mon 09:00' (weekly)")
        if self.type == "daily" and match.group(1):
            raise ValueError("a daily handoff is a time of day like '09:00', without a weekday")
        parse_clock(match.group(2))
        return self


class Restriction(SpecModel):
    days: list[Day] = Field(default_factory=lambda: list(DAYS))
    from_: str = Field(default="00:00", alias="from")
    to: str = "24:00"

    @field_validator("from_", "to")
    @classmethod
    def _clock(cls, value: str) -> str:
        if value != "24:00":
            parse_clock(value)
        return value


class FixedShift(SpecModel):
    """A shift with explicit times, e.g. imported from an iCalendar file."""

    user: str
    from_: datetime = Field(alias="from")
    to: datetime

    @field_validator("user")
    @classmethod
    def _email(cls, value: str) -> str:
        return _email(value)

    @model_validator(mode="after")
    def _order(self) -> FixedShift:
        if (self.from_.tzinfo is None) == (self.to.tzinfo is None) and _naive_or_utc(self.to) <= _naive_or_utc(
            self.from_
        ):
            raise ValueError(f"shift of {self.user} ends before it starts")
        return self


class Layer(SpecModel):
    """A rotation (start, rotation, users) or fixed shifts (`shifts`, or `ical: file.ics` read into them)."""

    name: str = Field(min_length=1)
    start: datetime | None = None
    end: datetime | None = None
    rotation: Rotation | None = None
    restrictions: list[Restriction] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    ical: str | None = None
    shifts: list[FixedShift] | None = None

    @field_validator("users")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return [_email(v) for v in value]

    @model_validator(mode="after")
    def _kind(self) -> Layer:
        if self.shifts is not None:
            if self.rotation is not None or self.users:
                raise ValueError(f"layer {self.name!r}: give either a rotation with users, or shifts/ical, not both")
            return self
        if self.ical is not None:
            raise ValueError(f"layer {self.name!r}: the iCalendar file {self.ical!r} was not read")
        missing = [n for n, v in (("start", self.start), ("rotation", self.rotation)) if v is None]
        if not self.users:
            missing.append("users")
        if missing:
            raise ValueError(f"layer {self.name!r} needs {', '.join(missing)} (or shifts / ical: FILE.ics)")
        return self


class Override(SpecModel):
    user: str
    from_: datetime = Field(alias="from")
    to: datetime

    @field_validator("user")
    @classmethod
    def _email(cls, value: str) -> str:
        return _email(value)


class ScheduleSpec(SpecModel):
    time_zone: str
    layers: list[Layer] = Field(min_length=1)
    overrides: list[Override] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value)

    @model_validator(mode="after")
    def _names(self) -> ScheduleSpec:
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError("layer names must be unique within a schedule")
        for o in self.overrides:
            if _naive_or_utc(o.to) <= _naive_or_utc(o.from_):
                raise ValueError(f"override for {o.user} ends before it starts")
        return self


class Notify(SpecModel):
    schedule: str | None = None
    users: list[str] = Field(default_factory=list)
    team: str | None = None

    @field_validator("users")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return [_email(v) for v in value]

    @model_validator(mode="after")
    def _one(self) -> Notify:
        if not (self.schedule or self.users or self.team):
            raise ValueError("notify needs a schedule, users or a team")
        return self


class Step(SpecModel):
    notify: Notify
    escalate_after: PositiveDuration


class EscalationPolicySpec(SpecModel):
    steps: list[Step] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=20)


class SeverityLevelSpec(SpecModel):
    description: str = Field(min_length=1)
    rank: int = Field(ge=1, le=99)
    major: bool = False
    incident_commander: bool = False
    page: bool = True
    update_every: Duration | None = None
    postmortem_required: bool = False
    postmortem_due_days: int | None = Field(default=None, ge=1)
    postmortem_business_days: bool = False


def _email(value: str) -> str:
    if not re.match(EMAIL, value):
        raise ValueError(f"users are referenced by email; {value!r} is not an email address")
    return value.lower()


def _naive_or_utc(value: datetime) -> Any:
    return value.replace(tzinfo=None) if value.tzinfo is None else value.replace(tzinfo=None) - value.utcoffset()  # type: ignore[operator]
