"""Request dependencies: the app's state, who is asking, what they may do, CSRF."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from clamor.accounts import service as accounts
from clamor.core.config import Settings
from clamor.core.errors import AuthenticationError, ClamorError, PermissionDenied
from clamor.core.i18n import normalise_language
from clamor.core.principal import Principal
from clamor.org.service import principal_for
from clamor.storage.database import Database
from clamor.web.csrf import COOKIE_NAME, FORM_FIELD, HEADER_NAME, CsrfSigner

SESSION_COOKIE = "clamor_session"
LANGUAGE_COOKIE = "clamor_lang"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class AppState:
    settings: Settings
    db: Database
    csrf: CsrfSigner
    templates: Any  # jinja2.Environment; typed loosely to keep jinja out of this module


def app_state(request: Request) -> AppState:
    return request.app.state.clamor


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _resolve_principal(request: Request) -> Principal | None:
    state = app_state(request)
    token = bearer_token(request)
    if token:
        with state.db.read() as session:
            user, scopes = accounts.user_for_token(session, token)
            return principal_for(session, user, scopes)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with state.db.read() as session:
        live = accounts.find_live_session(session, cookie)
        if live is None:
            request.state.session_expired = True
            return None
        user_session, user = live
        principal = principal_for(session, user)
        needs_touch = accounts.session_needs_touch(user_session)
    if needs_touch:
        with state.db.write() as session:
            accounts.touch_session(session, state.settings, cookie)
    return principal


def optional_principal(request: Request) -> Principal | None:
    """Who is asking, or None for an anonymous visitor. Cached for the request."""
    if not hasattr(request.state, "principal"):
        request.state.principal = _resolve_principal(request)
    return request.state.principal


def current_principal(request: Request) -> Principal:
    principal = optional_principal(request)
    if principal is None:
        if getattr(request.state, "session_expired", False):
            raise AuthenticationError.keyed("error.web.session_expired")
        raise AuthenticationError.keyed("error.web.login_needed")
    return principal


def require(permission: str) -> Callable[[Request], Principal]:
    """A dependency that lets the request through only with `permission`."""
    return require_any(permission)


def require_any(*permissions: str) -> Callable[[Request], Principal]:
    """A dependency that lets the request through with at least one of `permissions` (e.g. a
    page both its readers and its configurers open)."""
    wanted = " or ".join(permissions)

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if not any(principal.can(permission) for permission in permissions):
            if principal.scopes is not None:
                raise PermissionDenied.keyed("error.web.token_scope_denied", permission=wanted)
            raise PermissionDenied.keyed("error.web.permission_denied", permission=wanted)
        return principal

    dependency.__name__ = "require_" + "_or_".join(p.replace(".", "_") for p in permissions)
    return dependency


def request_language(request: Request) -> str:
    principal = optional_principal(request)
    if principal is not None and principal.user_id is not None:
        return principal.language
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen:
        return normalise_language(chosen)
    return normalise_language(app_state(request).settings.default_language)


def error_text(request: Request, error: ClamorError) -> str:
    """A refusal's message in the language of the person who made the request."""
    return error.text(request_language(request))


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def csrf_guard(request: Request) -> None:
    """Refuse unsafe requests that rely on the browser's cookies but lack the CSRF token."""
    if request.method not in UNSAFE_METHODS or bearer_token(request):
        return
    submitted = request.headers.get(HEADER_NAME)
    content_type = request.headers.get("content-type", "")
    if submitted is None and (
        content_type.startswith("application/x-www-form-urlencoded")
        or content_type.startswith("multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FORM_FIELD)
        submitted = value if isinstance(value, str) else None
    if not app_state(request).csrf.matches(request.cookies.get(COOKIE_NAME), submitted):
        raise PermissionDenied.keyed("error.web.csrf")
