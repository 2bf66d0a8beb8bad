"""Personal data encrypted at rest, and keyed hashes for looking it up without decrypting.

`EncryptedText` is a column type: values go in as `str` and are stored as
`v1:<base64(nonce ‖ AES-256-GCM ciphertext)>`; they come back as `str`. The key is
`derive_key(secret, "pii")` from the installation's secret, set once per process with
`configure()` (as `open_database` does). A value that was tampered with, or written under
another key, fails loudly on read instead of turning into garbage.

`keyed_hash(value)` is an HMAC of a normalised contact (phone, e-mail) under a key derived from
the same secret: equal contacts give equal hashes (repeat detection, status look-ups), and a
copy of the database alone does not tell anyone whose number it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "v1:"
_NONCE_BYTES = 12

_key: bytes | None = None
_hash_key: bytes | None = None
_aead: AESGCM | None = None


def configure(key: bytes) -> None:
    """Set the 32-byte encryption key (derive it with `derive_key(secret, "pii")`)."""
    global _key, _hash_key, _aead
    if len(key) != 32:
        raise ValueError("the personal-data key must be 32 bytes")
    _key = key
    _hash_key = hmac.new(key, b"lookup-hash", hashlib.sha256).digest()
    _aead = AESGCM(key)


def _cipher() -> AESGCM:
    if _aead is None:
        raise RuntimeError("personal-data key not configured (clamor.storage.crypto.configure)")
    return _aead


def encrypt(value: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher().encrypt(nonce, value.encode("utf-8"), PREFIX.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("not an encrypted value (missing v1: prefix)")
    blob = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode("ascii"))
    try:
        plain = _cipher().decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], PREFIX.encode())
    except InvalidTag as exc:
        raise ValueError("encrypted value does not match the key (wrong secret or edited)") from exc
    return plain.decode("utf-8")


def keyed_hash(value: str) -> str:
    """Hex HMAC-SHA256 of `value` under a key derived from the personal-data key."""
    _cipher()  # raises when not configured
    assert _hash_key is not None
    return hmac.new(_hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


class EncryptedText(TypeDecorator[str]):
    """A text column whose values are encrypted with AES-256-GCM before they reach the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value)
