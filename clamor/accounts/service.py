"""Users, sessions, API tokens and the failed-login limit: the rules, with audit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clamor.accounts.models import ApiToken, LoginAttempt, User, UserSession
from clamor.accounts.passwords import hash_password, verify_password
from clamor.accounts.scopes import unknown_scopes
from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.config import Settings
from clamor.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimited,
    ValidationError,
)
from clamor.core.i18n import LANGUAGES
from clamor.core.ids import digest, new_token
from clamor.core.principal import Principal

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
TOKEN_PREFIX = "clm_"


def _user_snapshot(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "is_admin": user.is_admin,
        "is_active": user.is_active,
        "language": user.language,
    }


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError.keyed("error.accounts.no_user", field="username", username=username)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def create_user(
    session: Session,
    actor: Principal,
    *,
    username: str,
    password: str,
    display_name: str | None = None,
    email: str | None = None,
    is_admin: bool = False,
    language: str = "zh-CN",
) -> User:
    actor.require("users.manage")
    if not USERNAME_PATTERN.match(username):
        raise ValidationError.keyed("error.accounts.bad_username", field="username")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError.keyed(
            "error.accounts.username_taken", field="username", username=username
        )
    if language not in LANGUAGES:
        raise ValidationError.keyed(
            "error.accounts.language_unknown", field="language", languages=", ".join(LANGUAGES)
        )
    now = clock.now()
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=hash_password(password),
        is_admin=is_admin,
        language=language,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert of the same name
        raise ConflictError.keyed(
            "error.accounts.username_taken", field="username", username=username
        ) from exc
    audit.record(session, actor, "users.create", "user", user.id, after=_user_snapshot(user))
    return user


def set_password(session: Session, actor: Principal, username: str, password: str) -> None:
    user = get_user(session, username)
    if actor.user_id != user.id:
        actor.require("users.manage")
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    # A new password ends every session of that user.
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    audit.record(session, actor, "users.set_password", "user", user.id)


def set_active(session: Session, actor: Principal, username: str, active: bool) -> User:
    actor.require("users.manage")
    user = get_user(session, username)
    before = _user_snapshot(user)
    user.is_active = active
    if not active:
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    audit.record(
        session,
        actor,
        "users.enable" if active else "users.disable",
        "user",
        user.id,
        before=before,
        after=_user_snapshot(user),
    )
    return user


def set_language(session: Session, actor: Principal, language: str) -> None:
    if language not in LANGUAGES:
        raise ValidationError.keyed(
            "error.accounts.language_unknown", field="language", languages=", ".join(LANGUAGES)
        )
    if actor.user_id is None:
        return
    user = session.get(User, actor.user_id)
    if user is None or user.language == language:
        return
    before = user.language
    user.language = language
    audit.record(
        session,
        actor,
        "users.set_language",
        "user",
        user.id,
        before={"language": before},
        after={"language": language},
    )


def acting_as(user: User) -> Principal:
    """The user as an audit actor, without looking up permissions (which live in org)."""
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        language=user.language,
        is_admin=user.is_admin,
    )


# --- failed logins ---------------------------------------------------------------------------


def _failures_since(session: Session, column: object, value: str, since: datetime) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(column == value)
    return session.scalar(query.where(LoginAttempt.at >= since)) or 0


def check_login_allowed(session: Session, settings: Settings, username: str, ip: str) -> None:
    window = timedelta(minutes=settings.login_failure_window_minutes)
    since = clock.now() - window
    too_many_for_account = (
        _failures_since(session, LoginAttempt.username, username, since)
        >= settings.login_max_failures_per_account
    )
    too_many_for_ip = (
        _failures_since(session, LoginAttempt.ip, ip, since) >= settings.login_max_failures_per_ip
    )
    if too_many_for_account or too_many_for_ip:
        raise RateLimited.keyed_after("error.accounts.too_many_logins", int(window.total_seconds()))


@dataclass(frozen=True)
class LoginResult:
    user: User
    session_token: str
    expires_at: datetime


def login(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    ip: str,
    previous_token: str | None = None,
) -> LoginResult | None:
    """Check the password and open a session; None when the credentials are wrong.

    A failure is recorded (for the rate limit) and not raised, so that the caller's transaction
    commits it; the caller turns None into "wrong user name or password".
    """
    check_login_allowed(session, settings, username, ip)
    user = session.scalar(select(User).where(User.username == username))
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        session.add(LoginAttempt(username=username, ip=ip, at=clock.now()))
        return None
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    return start_session(session, settings, user, previous_token)


def start_session(
    session: Session, settings: Settings, user: User, previous_token: str | None = None
) -> LoginResult:
    """A fresh session token on every login (rotation): the old one, if any, is ended."""
    if previous_token:
        session.execute(delete(UserSession).where(UserSession.token_hash == digest(previous_token)))
    token = new_token()
    now = clock.now()
    expires = now + timedelta(hours=settings.session_lifetime_hours)
    session.add(
        UserSession(
            token_hash=digest(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
        )
    )
    audit.record(session, acting_as(user), "auth.login", "user", user.id)
    return LoginResult(user=user, session_token=token, expires_at=expires)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == digest(token)))


def find_live_session(session: Session, token: str) -> tuple[UserSession, User] | None:
    """The session and its active user, or None when unknown, expired or the user disabled."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == digest(token)))
    if row is None or row.expires_at <= clock.now():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return row, user


def session_needs_touch(row: UserSession) -> bool:
    # Slide the expiry at most once a minute, not on every request.
    return clock.now() - row.last_seen_at > timedelta(minutes=1)


def touch_session(session: Session, settings: Settings, token: str) -> None:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == digest(token)))
    if row is None:
        return
    now = clock.now()
    row.last_seen_at = now
    row.expires_at = now + timedelta(hours=settings.session_lifetime_hours)


# --- API tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def create_token(
    session: Session, actor: Principal, username: str, name: str, scopes: list[str]
) -> NewToken:
    user = get_user(session, username)
    if actor.user_id != user.id:
        actor.require("users.manage")
    if not name.strip():
        raise ValidationError.keyed("error.accounts.token_name_missing", field="name")
    if not scopes:
        raise ValidationError.keyed("error.accounts.token_scope_missing", field="scopes")
    unknown = unknown_scopes(scopes)
    if unknown:
        raise ValidationError.keyed(
            "error.accounts.scope_unknown", field="scopes", scopes=", ".join(unknown)
        )
    secret = TOKEN_PREFIX + new_token()
    token = ApiToken(
        user_id=user.id,
        name=name.strip(),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=digest(secret),
        scopes=sorted(set(scopes)),
        created_at=clock.now(),
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "tokens.create",
        "api_token",
        token.id,
        after={"user": username, "name": token.name, "scopes": token.scopes},
    )
    return NewToken(token=token, secret=secret)


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    return list(session.scalars(query.order_by(ApiToken.id)))


def revoke_token(session: Session, actor: Principal, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.revoked_at is not None:
        raise NotFoundError.keyed("error.accounts.no_token", field="token_id", token_id=token_id)
    if token.user_id != actor.user_id:
        actor.require("users.manage")
    token.revoked_at = clock.now()
    audit.record(session, actor, "tokens.revoke", "api_token", token.id)


def user_for_token(session: Session, secret: str) -> tuple[User, frozenset[str]]:
    """The owner of a live API token and the token's scopes."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None:
        raise AuthenticationError.keyed("error.accounts.token_invalid")
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError.keyed("error.accounts.token_user_disabled")
    return user, frozenset(token.scopes)
