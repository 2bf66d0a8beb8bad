"""Process assembly: the web application, built from every domain's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from clamor import __version__
from clamor.accounts import api as accounts_api
from clamor.accounts import pages as accounts_pages
from clamor.audit import api as audit_api
from clamor.audit import pages as audit_pages
from clamor.bootstrap import open_database
from clamor.core.config import Settings, derive_key, read_secret
from clamor.dashboard import pages as dashboard_pages
from clamor.monitoring import api as monitoring_api
from clamor.monitoring import metrics as monitoring_metrics
from clamor.monitoring import pages as monitoring_pages
from clamor.notify import pages as notify_pages
from clamor.org import api as org_api
from clamor.org import pages as org_pages
from clamor.queue import open_queue
from clamor.reports import pages as reports_pages
from clamor.resources import pages as resources_pages
from clamor.storage import crypto
from clamor.storage.database import Database
from clamor.system import pages as system_pages
from clamor.web import errors
from clamor.web.csrf import COOKIE_NAME, CsrfSigner
from clamor.web.deps import AppState, csrf_guard
from clamor.web.render import make_environment
from clamor.worker.loop import embedded_pipeline, freeze_startup_heap
from clamor.workflow.complaints import api as complaints_api
from clamor.workflow.complaints import pages as complaints_pages
from clamor.workflow.complaints import public as complaints_public
from clamor.workflow.incidents import api as incidents_api
from clamor.workflow.incidents import pages as incidents_pages

STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(
    settings: Settings, db: Database | None = None, *, pipeline: bool = False
) -> FastAPI:
    """The web app; with `pipeline`, it also runs the pipeline's worker loop in a thread."""
    secret = read_secret(settings)
    database = db or open_database(settings)
    queue = open_queue(settings, database)
    app = FastAPI(
        lifespan=_lifespan(embedded_pipeline(database, queue, settings) if pipeline else None),
        title="Clamor",
        version=__version__,
        description="Complaints (信访) and public-opinion (舆情) incident management.",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.clamor = AppState(
        settings=settings,
        db=database,
        csrf=CsrfSigner(derive_key(secret, "csrf").hex()),
        templates=make_environment(),
    )
    app.state.queue = queue
    crypto.configure(derive_key(secret, "pii"))
    errors.install(app)
    _install_csrf_cookie(app, secure=settings.secure_cookies)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (
        system_pages.router,
        accounts_pages.router,
        accounts_api.router,
        org_pages.router,
        org_api.router,
        audit_pages.router,
        audit_api.router,
        dashboard_pages.router,
        complaints_api.router,
        complaints_pages.router,
        complaints_public.router,
        incidents_api.router,
        incidents_pages.router,
        reports_pages.router,
        notify_pages.router,
        resources_pages.router,
        monitoring_api.router,
        monitoring_pages.router,
        monitoring_metrics.router,
    ):
        app.include_router(router)
    return app


def _lifespan(pipeline: Callable[[FastAPI], Any] | None) -> Callable[[FastAPI], Any]:
    """Start-up of every serving process, with or without the embedded pipeline: the models are
    loaded and the heap settled (`freeze_startup_heap`) before the first request, then the
    pipeline, when there is one, runs while the app serves."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        freeze_startup_heap()
        if pipeline is None:
            yield
            return
        async with pipeline(app):
            yield

    return lifespan


def _install_csrf_cookie(app: FastAPI, *, secure: bool) -> None:
    """Set the CSRF cookie on responses to browsers that did not have a valid one."""

    @app.middleware("http")
    async def set_csrf_cookie(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        minted = getattr(request.state, "new_csrf", None)
        if minted:
            response.set_cookie(
                COOKIE_NAME, minted, httponly=True, samesite="lax", secure=secure, path="/"
            )
        return response
