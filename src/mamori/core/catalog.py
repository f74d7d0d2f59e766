"""The organisation as configuration: User, Team and Service kinds, and the service catalog."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.core import audit, auth, urls
from mamori.core.errors import NotFound, Problem, ValidationFailed
from mamori.core.manifest import MAMORI_API, ApplyContext, Bundle, Document, KindDef, SpecModel
from mamori.core.models import ROLES, Service, Team, TeamMembership, User

ContactType = Literal["email", "slack", "webhook", "sms", "voice"]
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTACT_FIELD = {"email": "address", "slack": "user", "webhook": "url", "sms": "number", "voice": "number"}


def check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. Europe/Berlin, America/New_York)") from None
    return value


class Contact(SpecModel):
    type: ContactType
    address: str | None = None
    user: str | None = None
    url: str | None = None
    number: str | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _needs_its_field(self) -> Contact:
        needed = _CONTACT_FIELD[self.type]
        if not getattr(self, needed):
            raise ValueError(f"a {self.type} contact needs {needed!r}")
        if self.type == "webhook" and not urls.is_http_url(self.url):
            raise ValueError("a webhook contact needs an http(s) url")
        return self

    @property
    def target(self) -> str:
        return str(getattr(self, _CONTACT_FIELD[self.type]))


class NotificationRule(SpecModel):
    """Personal rule: notify through `contact` (a contact type) `delayMinutes` after a page starts."""

    contact: ContactType
    delay_minutes: int = Field(default=0, ge=0, le=1440)


MAX_EMAIL_LENGTH = 254
"""The longest address SMTP carries (RFC 5321's path limit less the angle brackets); every column fits it."""


def check_email(value: str) -> str:
    if len(value) > MAX_EMAIL_LENGTH:
        raise ValueError(f"an email address has at most {MAX_EMAIL_LENGTH} characters, this one {len(value)}")
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"expected an email address like name@example.com, got {value!r}")
    return value


class UserSpec(SpecModel):
    email: str
    name: str = Field(min_length=1)
    time_zone: str = "UTC"
    role: Literal["viewer", "responder", "editor", "admin"] = "viewer"
    contacts: list[Contact] = Field(default_factory=list)
    notification_rules: list[NotificationRule] = Field(default_factory=list)

    @field_validator("email")
    @classmethod
    def _is_email(cls, value: str) -> str:
        return check_email(value)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_time_zone(value)


class Member(SpecModel):
    user: str
    role: Literal["viewer", "responder", "editor", "admin"] = "responder"


class TeamSpec(SpecModel):
    display_name: str = ""
    members: list[Member] = Field(default_factory=list)
    slack_channel: str | None = None
    email: str | None = None


class Link(SpecModel):
    title: str
    url: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return urls.check_http_url(value)


class ServiceSpec(SpecModel):
    display_name: str = ""
    description: str = ""
    owner: str | None = Field(default=None, description="the owning team's name")
    tier: int = Field(default=3, ge=1, le=4)
    repository: str | None = None
    links: list[Link] = Field(default_factory=list)


def _check_user(doc: Document, bundle: Bundle) -> list[Problem]:
    """Two User documents with one email would be merged into one person: refuse it."""
    email = doc.model.email.lower()
    first = next(d for d in bundle.of_kind("User", MAMORI_API) if d.model.email.lower() == email)
    if first is doc:
        return []
    return [doc.problem("spec.email", f"{doc.model.email!r} is already the email of User {first.name!r}")]


def _check_team(doc: Document, bundle: Bundle) -> list[Problem]:
    problems = []
    spec: TeamSpec = doc.model
    by_ref = {}  # email or handle -> the User document's email
    for user in bundle.of_kind("User", MAMORI_API):
        by_ref[user.model.email.lower()] = by_ref[user.name] = user.model.email.lower()
    seen: dict[str, int] = {}
    for i, member in enumerate(spec.members):
        person = by_ref.get(member.user.lower()) or by_ref.get(member.user)
        if person is None and {member.user, member.user.lower()} & bundle.stored.get((MAMORI_API, "User"), set()):
            person = member.user.lower()  # a user already stored (applied before, or made with the CLI)
        if person is None:
            problems.append(doc.problem(f"spec.members[{i}].user", f"no User {member.user!r} is declared or stored"))
        elif person in seen:
            problems.append(
                doc.problem(f"spec.members[{i}].user", f"{member.user!r} is already member {seen[person]} of the team")
            )
        else:
            seen[person] = i
    return problems


def _check_service(doc: Document, bundle: Bundle) -> list[Problem]:
    spec: ServiceSpec = doc.model
    if spec.owner and spec.owner not in bundle.names("Team"):
        return [doc.problem("spec.owner", f"no Team {spec.owner!r} is declared or stored")]
    return []


def _user_state(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "time_zone": user.time_zone,
        "role": user.role,
        "contacts": user.contacts,
        "notification_rules": user.notification_rules,
    }


def _apply_user(ctx: ApplyContext, doc: Document) -> None:
    spec: UserSpec = doc.model
    user = auth.find_user(ctx.session, spec.email) or auth.find_user(ctx.session, doc.name)
    if user is None:
        user = User(email=spec.email, name=spec.name, created_at=ctx.now, role=spec.role)
        ctx.session.add(user)
    user.handle, user.email, user.name = doc.name, spec.email, spec.name
    user.time_zone, user.role = spec.time_zone, spec.role
    user.contacts = [c.model_dump(exclude_none=True) for c in spec.contacts]
    user.notification_rules = [r.model_dump(by_alias=True) for r in spec.notification_rules]
    ctx.session.flush()


def _delete_user(ctx: ApplyContext, name: str) -> None:
    user = ctx.session.scalar(select(User).where(User.handle == name))
    if user is not None:
        if user.active and user.role == "admin":
            others = ctx.session.scalar(
                select(func.count()).select_from(User).where(User.active, User.role == "admin", User.id != user.id)
            )
            if not others:
                raise ValidationFailed(
                    f"refusing to remove User {name!r}: {user.email} is the last active admin (make another first)"
                )
        # Deactivate rather than delete: the audit log and old incidents still name this person.
        user.active = False


def _apply_team(ctx: ApplyContext, doc: Document) -> None:
    spec: TeamSpec = doc.model
    team = ctx.session.scalar(select(Team).where(Team.name == doc.name))
    if team is None:
        team = Team(name=doc.name, created_at=ctx.now)
        ctx.session.add(team)
    team.display_name = spec.display_name or doc.display_name
    team.slack_channel, team.email = spec.slack_channel, spec.email
    ctx.session.flush()
    team.memberships.clear()
    ctx.session.flush()
    for member in spec.members:
        user = auth.get_user(ctx.session, member.user)
        team.memberships.append(TeamMembership(user_id=user.id, role=member.role))
    ctx.session.flush()


def _delete_team(ctx: ApplyContext, name: str) -> None:
    team = ctx.session.scalar(select(Team).where(Team.name == name))
    if team is not None:
        ctx.session.delete(team)


def _apply_service(ctx: ApplyContext, doc: Document) -> None:
    spec: ServiceSpec = doc.model
    service = ctx.session.scalar(select(Service).where(Service.name == doc.name))
    if service is None:
        service = Service(name=doc.name, created_at=ctx.now)
        ctx.session.add(service)
    owner = ctx.session.scalar(select(Team).where(Team.name == spec.owner)) if spec.owner else None
    service.display_name = spec.display_name or doc.display_name
    service.description, service.tier, service.repository = spec.description, spec.tier, spec.repository
    service.links = [link.model_dump() for link in spec.links]
    service.owner_team_id = owner.id if owner else None
    ctx.session.flush()


def _delete_service(ctx: ApplyContext, name: str) -> None:
    service = ctx.session.scalar(select(Service).where(Service.name == name))
    if service is not None:
        ctx.session.delete(service)


KINDS = [
    KindDef(MAMORI_API, "User", UserSpec, order=10, check=_check_user, apply=_apply_user, delete=_delete_user),
    KindDef(MAMORI_API, "Team", TeamSpec, order=20, check=_check_team, apply=_apply_team, delete=_delete_team),
    KindDef(
        MAMORI_API, "Service", ServiceSpec, order=30, check=_check_service, apply=_apply_service, delete=_delete_service
    ),
]


def list_services(session: Session) -> list[Service]:
    return list(session.scalars(select(Service).order_by(Service.tier, Service.name)))


def get_service(session: Session, name: str) -> Service:
    service = session.scalar(select(Service).where(Service.name == name))
    if service is None:
        raise NotFound(f"no service {name!r}")
    return service


def service_team(session: Session, name: str) -> str | None:
    """The owning team's name of a service, or None when the service or its owner is unknown."""
    service = session.scalar(select(Service).where(Service.name == name))
    return service.owner_team.name if service is not None and service.owner_team is not None else None


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))


def get_team(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f"no team {name!r}")
    return team


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def create_team(session: Session, *, name: str, now: datetime, actor: audit.Actor, display_name: str = "") -> Team:
    team = Team(name=name, display_name=display_name or name, created_at=now)
    session.add(team)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        object_type="Team",
        object_id=name,
        at=now,
        after={"name": name, "display_name": team.display_name},
    )
    return team


def set_membership(session: Session, *, team: Team, user: User, role: str, now: datetime, actor: audit.Actor) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    current = next((m for m in team.memberships if m.user_id == user.id), None)
    before = current.role if current else None
    if current is None:
        team.memberships.append(TeamMembership(user_id=user.id, role=role))
    else:
        current.role = role
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="set_member",
        object_type="Team",
        object_id=team.name,
        at=now,
        before={"member": user.email, "role": before},
        after={"member": user.email, "role": role},
    )
