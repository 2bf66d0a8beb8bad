"""Login, logout, language, and the personal settings page (API tokens; users for admins)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from clamor.accounts import service as accounts
from clamor.accounts.scopes import API_SCOPES
from clamor.core.errors import ClamorError, RateLimited
from clamor.core.i18n import LANGUAGES, normalise_language
from clamor.core.principal import Principal
from clamor.web.deps import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    app_state,
    client_ip,
    current_principal,
    error_text,
    optional_principal,
    request_language,
)
from clamor.web.forms import apply_then_redirect
from clamor.web.render import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/", expired: int = 0) -> Response:
    if optional_principal(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    message = "login.expired" if expired else None
    return render(request, "accounts/login.html", next=_safe_next(next), info=message, error=None)


@router.post("/login")
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    state = app_state(request)
    target = _safe_next(next)
    if not username.strip() or not password:
        return render(
            request,
            "accounts/login.html",
            status_code=422,
            next=target,
            info=None,
            error="login.missing",
        )
    try:
        with state.db.write() as session:
            result = accounts.login(
                session,
                state.settings,
                username.strip(),
                password,
                client_ip(request),
                previous_token=request.cookies.get(SESSION_COOKIE),
            )
    except RateLimited as exc:
        response = render(
            request,
            "accounts/login.html",
            status_code=429,
            next=target,
            info=None,
            error="login.rate_limited",
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if result is None:
        return render(
            request,
            "accounts/login.html",
            status_code=401,
            next=target,
            info=None,
            error="login.wrong",
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        max_age=int(state.settings.session_lifetime_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
        path="/",
    )
    response.set_cookie(LANGUAGE_COOKIE, result.user.language, samesite="lax", path="/")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with app_state(request).db.write() as session:
            accounts.end_session(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def switch_language(request: Request, language: str = Form(""), back: str = Form("/")) -> Response:
    chosen = normalise_language(language)
    principal = optional_principal(request)
    if principal is not None and principal.user_id is not None:
        with app_state(request).db.write() as session:
            accounts.set_language(session, principal, chosen)
    response = RedirectResponse(_safe_next(back), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, chosen, samesite="lax", path="/", max_age=365 * 86400)
    return response


def _settings_page(
    request: Request,
    principal: Principal,
    *,
    status_code: int = 200,
    new_secret: str | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    """`form`: what was typed into a refused form (never a password), shown again."""
    with app_state(request).db.read() as session:
        tokens = accounts.list_tokens(session, principal.user_id) if principal.user_id else []
        users = accounts.list_users(session) if principal.can("users.manage") else []
    return render(
        request,
        "accounts/settings.html",
        status_code=status_code,
        tokens=tokens,
        users=users,
        scopes=sorted(API_SCOPES),
        new_secret=new_secret,
        error=error,
        form=form or {},
        current_language=request_language(request),
        all_languages=LANGUAGES,
    )


@router.get("/settings")
def settings_page(request: Request, principal: Principal = Depends(current_principal)) -> Response:
    return _settings_page(request, principal)


@router.post("/settings/tokens")
def create_token(
    request: Request,
    name: str = Form(""),
    scopes: list[str] = Form(default_factory=list),
    principal: Principal = Depends(current_principal),
) -> Response:
    try:
        with app_state(request).db.write() as session:
            created = accounts.create_token(session, principal, principal.username, name, scopes)
    except ClamorError as exc:
        return _settings_page(
            request,
            principal,
            status_code=exc.status_code,
            error=error_text(request, exc),
            form={"token_name": name, "token_scopes": scopes},
        )
    return _settings_page(request, principal, new_secret=created.secret)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: int, principal: Principal = Depends(current_principal)
) -> Response:
    with app_state(request).db.write() as session:
        accounts.revoke_token(session, principal, token_id)
    return RedirectResponse("/settings?done=notice.token_revoked", status_code=303)


@router.post("/settings/users")
def add_user(
    request: Request,
    username: str = Form(""),
    display_name: str = Form(""),
    password: str = Form(""),
    principal: Principal = Depends(current_principal),
) -> Response:
    return apply_then_redirect(
        request,
        lambda session: accounts.create_user(
            session,
            principal,
            username=username.strip(),
            password=password,
            display_name=display_name.strip() or None,
        ),
        "/settings?done=notice.user_added",
        lambda request, **shown: _settings_page(request, principal, **shown),
        form={"user_username": username, "user_display_name": display_name},
    )


@router.post("/settings/users/{username}/active")
def set_user_active(
    request: Request,
    username: str,
    active: int = Form(...),
    principal: Principal = Depends(current_principal),
) -> Response:
    with app_state(request).db.write() as session:
        accounts.set_active(session, principal, username, bool(active))
    return RedirectResponse("/settings?done=notice.user_updated", status_code=303)
