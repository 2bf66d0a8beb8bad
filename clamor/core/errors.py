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

Words: an error made with `keyed("error.domain.name", field=…, **params)` takes its words from
the message catalogue (zh-CN and English, `core/messages/*.yaml`): `message` is the English (for
the API, the CLI and logs) and `text(language)` what a person reading the pages in that language
sees. A parameter that is itself a ClamorError (a wrapped cause) or a `Term` (a catalogue entry:
a state's or a field's name) is put in the same language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from clamor.core.i18n import translate


@dataclass(frozen=True, slots=True)
class Term:
    """A parameter of a keyed error that is itself words in the catalogue (`states.closed`)."""

    key: str


class ClamorError(Exception):
    """Base class. `message` is a single line meant for the user."""

    status_code = 400
    code = "error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.key = key
        self.params = params or {}

    @classmethod
    def keyed(cls, key: str, /, *, field: str | None = None, **params: Any) -> Self:
        """The error whose words are catalogue entry `key`, filled with `params` (and `field`,
        which the words may name as `{field}`)."""
        filled = {"field": field, **params} if field is not None else params
        return cls(_words(key, "en", filled), field=field, key=key, params=filled)

    def text(self, language: str) -> str:
        """The message in `language` (the English `message` where it has no catalogue entry)."""
        return _words(self.key, language, self.params) if self.key else self.message

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.key:
            body["key"] = self.key  # lets an API client show its own words for the error
        return body


def _words(key: str, language: str, params: dict[str, Any], /) -> str:
    return translate(key, language, **{name: _in(language, v) for name, v in params.items()})


def _in(language: str, value: Any) -> Any:
    if isinstance(value, ClamorError):
        return value.text(language)
    if isinstance(value, Term):
        return translate(value.key, language)
    return value


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

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, key=key, params=params)
        self.retry_after = retry_after

    @classmethod
    def keyed_after(cls, key: str, retry_after: int, /, **params: Any) -> RateLimited:
        """`keyed` for a refusal that says when to try again."""
        return cls(_words(key, "en", params), retry_after=retry_after, key=key, params=params)


class InvalidTransition(ClamorError):
    status_code = 409
    code = "invalid_transition"


class ConfigurationError(ClamorError):
    status_code = 500
    code = "configuration"
