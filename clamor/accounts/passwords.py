"""argon2id password hashing. ~0.3 s per hash on 2 cores: call it from a worker thread (sync
routes run in FastAPI's threadpool), never on the event loop."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from clamor.core.errors import ValidationError

MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()

# Verified against when the user does not exist, so that a wrong user name costs as much time
# as a wrong password and does not reveal which names exist. Made with the current hasher.
_dummy_hash: str | None = None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("clamor-dummy-password")
    return _dummy_hash


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the hasher's cost parameters (the test suite uses cheap ones to stay fast)."""
    global _hasher, _dummy_hash
    _hasher, _dummy_hash = hasher, None


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError.keyed(
            "error.accounts.password_too_short", field="password", min=MIN_PASSWORD_LENGTH
        )


def hash_password(password: str) -> str:
    check_password_policy(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
