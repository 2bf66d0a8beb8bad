"""Random tokens and their digests."""

from __future__ import annotations

import hashlib
import secrets


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token."""
    return secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    """SHA-256 hex digest: tokens are high-entropy, so a fast hash is enough to store them."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
