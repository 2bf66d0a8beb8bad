"""Server-side rendering with Jinja2: one environment over every domain's `templates/` folder,
and the context every page gets (translation, who is logged in, CSRF token, navigation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from clamor import __version__
from clamor.core.clock import LOCAL_ZONE
from clamor.core.i18n import LANGUAGE_NAMES, LANGUAGES, catalogue, pick, translate
from clamor.web.csrf import COOKIE_NAME
from clamor.web.deps import app_state, optional_principal, request_language

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class NavItem:
    key: str  # catalogue key of its label
    href: str
    permission: str


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("nav.dashboard", "/", "dashboard.read"),
    NavItem("nav.complaints", "/complaints", "complaints.read"),
    NavItem("nav.monitoring", "/monitoring", "monitoring.read"),
    NavItem("nav.incidents", "/incidents", "incidents.read"),
    NavItem("nav.organisation", "/organisation", "org.read"),
    NavItem("nav.audit", "/audit", "audit.read"),
    NavItem("nav.settings", "/settings", "dashboard.read"),
)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """`{{ moment|local }}`: a stored (UTC) moment as the people using the pages read it."""
    if value is None:
        return ""
    if value.tzinfo is None:  # a naive moment from the database is UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_ZONE).strftime(fmt)


def template_dirs() -> list[str]:
    """web/templates first (the base layout), then every domain's templates folder."""
    dirs = [PACKAGE_ROOT / "web" / "templates"]
    # Domains one level down (org/templates) and nested ones (workflow/incidents/templates).
    found = PACKAGE_ROOT.glob("**/templates")
    dirs += sorted(p for p in found if p.is_dir() and p != PACKAGE_ROOT / "web" / "templates")
    return [str(d) for d in dirs]


def make_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dirs()),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        version=__version__, languages=LANGUAGES, language_names=LANGUAGE_NAMES
    )
    environment.filters["local"] = local_time
    # Chinese stays readable in JSON shown on pages (the audit log's before/after).
    environment.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    return environment


def csrf_token_for(request: Request) -> str:
    """The browser's CSRF cookie value, minting one (set by `ensure_csrf_cookie`) if absent."""
    existing = request.cookies.get(COOKIE_NAME)
    state = app_state(request)
    if state.csrf.is_valid_cookie(existing):
        return str(existing)
    if not hasattr(request.state, "new_csrf"):
        request.state.new_csrf = state.csrf.new_cookie_value()
    return request.state.new_csrf


def _notice(request: Request) -> str | None:
    """The `?done=` notice after a redirect; only known notice keys, never reflected text."""
    key = request.query_params.get("done")
    return key if key and key.startswith("notice.") and key in catalogue() else None


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    state = app_state(request)
    language = request_language(request)
    principal = optional_principal(request)

    def t(key: str, **params: Any) -> str:
        return translate(key, language, **params)

    nav = [item for item in NAVIGATION if principal is not None and principal.can(item.permission)]
    page = state.templates.get_template(template).render(
        request=request,
        t=t,
        lang=language,
        pick=lambda localised: pick(localised, language),
        principal=principal,
        csrf_token=csrf_token_for(request),
        nav=nav,
        current_path=request.url.path,
        notice=_notice(request),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)
