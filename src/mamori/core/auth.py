"""Identity and access: passwords (argon2), API tokens (hashed, scoped, expiring), web sessions, roles."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from mamori.core import audit
from mamori.core.audit import Actor
from mamori.core.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthenticated, ValidationFailed
from mamori.core.models import ROLES, ApiToken, LoginAttempt, User, WebSession

SCOPES = ("read", "write", "admin", "ingest", "flags:evaluate")
TOKEN_PREFIX = "mmr"  # noqa: S105 (a public prefix, not a secret)
_hasher = PasswordHasher()
# A hash of a random password, verified against when the user does not exist, so that
# a login for an unknown email costs the same time as one with a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def role_rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def has_role(user: User, needed: str) -> bool:
    return role_rank(user.role) >= role_rank(needed)


def team_role(user: User, team_name: str) -> str | None:
    """The user's role in a team, or None when not a member."""
    return next((m.role for m in user.memberships if m.team.name == team_name), None)


def has_role_for_team(user: User, team_name: str | None, needed: str) -> bool:
    """An organisation role counts everywhere; a team role counts for that team's objects."""
    if has_role(user, needed):
        return True
    role = team_role(user, team_name) if team_name else None
    return role is not None and role_rank(role) >= role_rank(needed)


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValidationFailed("a password needs at least 8 characters")
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def find_user(session: Session, ref: str) -> User | None:
    """A user by email (case-insensitive) or by handle (the `metadata.name` of its User document)."""
    return session.scalar(select(User).where(or_(func.lower(User.email) == ref.strip().lower(), User.handle == ref)))


def get_user(session: Session, ref: str) -> User:
    user = find_user(session, ref)
    if user is None:
        raise NotFound(f"no user {ref!r}")
    return user


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    now: datetime,
    actor: Actor,
    password: str | None = None,
    time_zone: str = "UTC",
    handle: str | None = None,
) -> User:
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if "@" not in email:
        raise ValidationFailed(f"{email!r} is not an email address")
    if find_user(session, email) is not None:
        raise Conflict(f"a user with email {email!r} exists already")
    user = User(
        email=email.strip(),
        name=name,
        role=role,
        time_zone=time_zone,
        handle=handle,
        password_hash=hash_password(password) if password else None,
        contacts=[],
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        object_type="User",
        object_id=user.email,
        at=now,
        after={"email": user.email, "name": name, "role": role},
    )
    return user


def set_password(session: Session, *, user: User, password: str, now: datetime, actor: Actor) -> None:
    user.password_hash = hash_password(password)
    audit.record(session, actor=actor, action="set_password", object_type="User", object_id=user.email, at=now)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


def create_token(
    session: Session,
    *,
    user: User | None,
    scopes: list[str],
    now: datetime,
    actor: Actor,
    name: str = "",
    expires_in: timedelta | None = None,
    environment: str | None = None,
) -> IssuedToken:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValidationFailed(f"unknown scope(s) {unknown or scopes}; expected some of {', '.join(SCOPES)}")
    if "flags:evaluate" in scopes and (environment is None or len(scopes) > 1):
        raise ValidationFailed("a flags:evaluate token is evaluation-only and needs --environment")
    if environment is not None and "flags:evaluate" not in scopes:
        raise ValidationFailed("--environment only applies to flags:evaluate tokens")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    raw = f"{TOKEN_PREFIX}_{prefix}_{secret}"
    token = ApiToken(
        name=name or f"token-{prefix}",
        user_id=user.id if user else None,
        prefix=prefix,
        secret_hash=_sha256(raw),
        scopes=sorted(set(scopes)),
        environment=environment,
        created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        object_type="ApiToken",
        object_id=token.id,
        at=now,
        after={
            "name": token.name,
            "scopes": token.scopes,
            "user": user.email if user else None,
            "environment": environment,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    return IssuedToken(token=token, secret=raw)


def revoke_token(session: Session, *, token_id: str, now: datetime, actor: Actor) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id!r}")
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(session, actor=actor, action="revoke", object_type="ApiToken", object_id=token.id, at=now)
    return token


def authenticate_token(session: Session, raw: str, *, now: datetime) -> ApiToken:
    """The token for a presented secret; Unauthenticated when unknown, revoked or expired."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise Unauthenticated("malformed API token; expected mmr_<id>_<secret>")
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == parts[1]))
    if token is None or not hmac.compare_digest(token.secret_hash, _sha256(raw.strip())):
        raise Unauthenticated("unknown API token")
    if token.revoked_at is not None:
        raise Unauthenticated("this API token was revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("this API token has expired")
    if token.user is not None and not token.user.active:
        raise Unauthenticated("the user of this API token is deactivated")
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return token


def require_scope(token: ApiToken, scope: str) -> None:
    """`admin` implies `write` implies `read`; `ingest` and `flags:evaluate` stand alone."""
    implied = {"read": {"read", "write", "admin"}, "write": {"write", "admin"}, "admin": {"admin"}}
    allowed = implied.get(scope, {scope})
    if not allowed.intersection(token.scopes):
        raise Forbidden(f"this token lacks the {scope!r} scope (it has {', '.join(token.scopes)})")


def list_tokens(session: Session, *, user: User | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


# --- browser sessions and login -------------------------------------------------------------


@dataclass(frozen=True)
class IssuedSession:
    session_id: str  # goes into the cookie; only its hash is stored
    csrf_token: str
    expires_at: datetime


def check_login_rate(
    session: Session, *, email: str, ip: str, now: datetime, max_failures: int, window: timedelta
) -> None:
    since = now - window
    failures = (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.success.is_(False),
                LoginAttempt.at >= since,
                or_(LoginAttempt.email == email.lower(), LoginAttempt.ip == ip),
            )
        )
        or 0
    )
    if failures >= max_failures:
        raise RateLimited("too many failed logins; wait a few minutes and try again")


def login(
    session: Session,
    *,
    email: str,
    password: str,
    ip: str,
    now: datetime,
    max_failures: int,
    window: timedelta,
    lifetime: timedelta,
) -> tuple[User, IssuedSession]:
    user = find_user(session, email)
    # Failures count under the account the name resolves to, so " Ada@Example.com", "ADA@example.com" and the
    # handle "ada" share one budget (and an unknown name under its normalised form).
    account = user.email.lower() if user is not None else email.strip().lower()
    check_login_rate(session, email=account, ip=ip, now=now, max_failures=max_failures, window=window)
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.active
    session.add(LoginAttempt(email=account, ip=ip, at=now, success=ok))
    if not ok or user is None:
        session.flush()
        raise Unauthenticated("wrong email or password")
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    raw = secrets.token_urlsafe(32)
    issued = IssuedSession(session_id=raw, csrf_token=secrets.token_urlsafe(24), expires_at=now + lifetime)
    session.add(
        WebSession(
            id_hash=_sha256(raw),
            user_id=user.id,
            csrf_token=issued.csrf_token,
            created_at=now,
            expires_at=issued.expires_at,
        )
    )
    session.flush()
    return user, issued


def session_user(session: Session, raw: str, *, now: datetime) -> tuple[User, WebSession]:
    row = session.get(WebSession, _sha256(raw))
    if row is None or row.expires_at <= now or not row.user.active:
        raise Unauthenticated("not logged in")
    return row.user, row


def logout(session: Session, raw: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == _sha256(raw)))
