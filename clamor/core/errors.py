"""The exception tree of Clamor.

    ClamorError                 base; `message` is one line that says what to fix
    ├── ValidationError         bad input; `field` names the offending field (HTTP 422 / CLI exit 2)
    ├── NotFoundError           the object does not exist (HTTP 404)
    ├── ConflictError           duplicate or stale state, e.g. a user name taken (HTTP 409)
    ├── PermissionDenied        the actor may not do this (HTTP 403)
    ├── AuthenticationError     no or bad credentials (HTTP 401)
    ├── RateLimited             too many attempts; `retry_after` seconds (HTTP 429)
    ├── InvalidTransition       a state change the state machine does not allow (HTTP 409)
    └── ConfigurationError      settings or environment are wrong (CLI exit 2)

Web handlers and the CLI translate these into responses and exit codes in one place each; the
domain code only raises them.
"""

from __future__ import annotations


class ClamorError(Exception):
    """Base class. `message` is a single line meant for the user."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class ValidationError(ClamorError):
    status_code = 422
    code = "invalid"


class NotFoundError(ClamorError):
    status_code = 404
    code = "not_found"


class ConflictError(ClamorError):
    status_code = 409
    code = "conflict"


class PermissionDenied(ClamorError):
    status_code = 403
    code = "forbidden"


class AuthenticationError(ClamorError):
    status_code = 401
    code = "unauthenticated"


class RateLimited(ClamorError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidTransition(ClamorError):
    status_code = 409
    code = "invalid_transition"


class ConfigurationError(ClamorError):
    status_code = 500
    code = "configuration"
