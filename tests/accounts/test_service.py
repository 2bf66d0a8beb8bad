from datetime import timedelta

import pytest

from clamor.accounts import service as accounts
from clamor.core import clock
from clamor.core.config import Settings
from clamor.core.errors import AuthenticationError, ConflictError, RateLimited, ValidationError
from clamor.core.principal import SYSTEM
from clamor.storage.database import Database
from tests.conftest import PASSWORD, RoleUsers


def login(db: Database, settings: Settings, username: str, password: str, ip: str = "10.0.0.1"):
    with db.write() as session:
        return accounts.login(session, settings, username, password, ip)


def test_duplicate_user_is_refused_and_nothing_changes(db: Database, seeded: RoleUsers) -> None:
    with pytest.raises(ConflictError, match="already exists"), db.write() as session:
        accounts.create_user(session, SYSTEM, username="gm", password=PASSWORD)
    with db.read() as session:
        assert [u.username for u in accounts.list_users(session)].count("gm") == 1


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [("a b", PASSWORD, "username"), ("ok", "short", "password")],
)
def test_bad_user_input_names_the_field(
    db: Database, username: str, password: str, field: str
) -> None:
    with pytest.raises(ValidationError) as caught, db.write() as session:
        accounts.create_user(session, SYSTEM, username=username, password=password)
    assert caught.value.field == field


def test_login_right_and_wrong(db: Database, seeded: RoleUsers, settings: Settings) -> None:
    assert login(db, settings, "gm", "wrong password") is None
    assert login(db, settings, "nobody", PASSWORD) is None
    result = login(db, settings, "gm", PASSWORD)
    assert result is not None and result.user.username == "gm"
    with db.read() as session:
        assert accounts.find_live_session(session, result.session_token) is not None


def test_failed_logins_are_limited_per_account(
    db: Database, seeded: RoleUsers, settings: Settings
) -> None:
    for attempt in range(settings.login_max_failures_per_account):
        assert login(db, settings, "gm", "wrong", ip=f"10.0.0.{attempt}") is None
    with pytest.raises(RateLimited):
        login(db, settings, "gm", PASSWORD, ip="10.9.9.9")  # even the right password waits


def test_failed_logins_are_limited_per_address(
    db: Database, seeded: RoleUsers, settings: Settings
) -> None:
    for attempt in range(settings.login_max_failures_per_ip):
        assert login(db, settings, f"user{attempt}", "wrong", ip="10.1.1.1") is None
    with pytest.raises(RateLimited):
        login(db, settings, "gm", PASSWORD, ip="10.1.1.1")
    assert login(db, settings, "gm", PASSWORD, ip="10.2.2.2") is not None


def test_the_limit_lifts_after_the_window(
    db: Database, seeded: RoleUsers, settings: Settings, frozen_now
) -> None:
    for _ in range(settings.login_max_failures_per_account):
        login(db, settings, "gm", "wrong")
    clock.freeze(frozen_now + timedelta(minutes=settings.login_failure_window_minutes + 1))
    assert login(db, settings, "gm", PASSWORD) is not None


def test_sessions_expire_and_rotate(
    db: Database, seeded: RoleUsers, settings: Settings, frozen_now
) -> None:
    first = login(db, settings, "gm", PASSWORD)
    with db.write() as session:
        second = accounts.login(
            session, settings, "gm", PASSWORD, "10.0.0.1", previous_token=first.session_token
        )
    with db.read() as session:
        assert accounts.find_live_session(session, first.session_token) is None  # rotated away
        assert accounts.find_live_session(session, second.session_token) is not None
    clock.freeze(frozen_now + timedelta(hours=settings.session_lifetime_hours, seconds=1))
    with db.read() as session:
        assert accounts.find_live_session(session, second.session_token) is None


def test_disabling_a_user_ends_their_sessions(
    db: Database, seeded: RoleUsers, settings: Settings
) -> None:
    result = login(db, settings, "gm", PASSWORD)
    with db.write() as session:
        accounts.set_active(session, SYSTEM, "gm", False)
    with db.read() as session:
        assert accounts.find_live_session(session, result.session_token) is None
    assert login(db, settings, "gm", PASSWORD) is None


def test_tokens_are_stored_hashed_and_revocable(db: Database, seeded: RoleUsers) -> None:
    with db.write() as session:
        created = accounts.create_token(session, SYSTEM, "gm", "reporting", ["org:read"])
    assert created.secret.startswith("clm_") and created.token.token_hash != created.secret
    with db.read() as session:
        user, scopes = accounts.user_for_token(session, created.secret)
    assert user.username == "gm" and scopes == frozenset({"org:read"})
    with db.write() as session:
        accounts.revoke_token(session, SYSTEM, created.token.id)
    with pytest.raises(AuthenticationError), db.read() as session:
        accounts.user_for_token(session, created.secret)


def test_token_scopes_are_checked(db: Database, seeded: RoleUsers) -> None:
    with pytest.raises(ValidationError, match="unknown scope"), db.write() as session:
        accounts.create_token(session, SYSTEM, "gm", "x", ["everything"])
    with pytest.raises(ValidationError, match="at least one scope"), db.write() as session:
        accounts.create_token(session, SYSTEM, "gm", "x", [])
