"""Who is acting: a user (by session) or an API token, with what they may do."""

from __future__ import annotations

from dataclasses import dataclass, field

from clamor.core.errors import PermissionDenied


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    username: str
    display_name: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    language: str = "zh-CN"
    is_admin: bool = False
    # For API tokens: the scopes the token carries; None for a browser session.
    scopes: frozenset[str] | None = None

    def can(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise PermissionDenied(f"{self.username} lacks the permission {permission}")


SYSTEM = Principal(
    user_id=None,
    username="system",
    display_name="system",
    permissions=frozenset({"*"}),
    is_admin=True,
)
