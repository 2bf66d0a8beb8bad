"""API token scopes. Pure."""

from __future__ import annotations

from collections.abc import Iterable

# API token scopes are `<domain>:read` (the domain's `.read` permission) and `<domain>:write`
# (every permission of the domain). A token can never do more than its owner.
SCOPE_DOMAINS: tuple[str, ...] = (
    "org",
    "users",
    "audit",
    "complaints",
    "monitoring",
    "incidents",
    "statements",
    "tasks",
)
API_SCOPES: frozenset[str] = frozenset(
    f"{domain}:{mode}" for domain in SCOPE_DOMAINS for mode in ("read", "write")
)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - API_SCOPES)


def scope_allows(scopes: frozenset[str], permission: str) -> bool:
    """Whether a token with `scopes` may exercise `permission` (its owner must have it too)."""
    domain, _, action = permission.partition(".")
    if f"{domain}:write" in scopes:
        return True
    return action == "read" and f"{domain}:read" in scopes
