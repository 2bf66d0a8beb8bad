"""The monitoring pages: dashboard (live), topic, alerts, watch queries with a tester, sources,
and the queue's parked jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from clamor.core.errors import ClamorError, ValidationError
from clamor.core.i18n import translate
from clamor.core.principal import Principal
from clamor.monitoring import browse, pipeline, service
from clamor.monitoring.api import app_queue
from clamor.web.deps import app_state, error_text, request_language, require
from clamor.web.forms import apply_then_redirect
from clamor.web.render import render

router = APIRouter(include_in_schema=False)

LEVELS = {1: "blue", 2: "yellow", 3: "orange", 4: "red"}
ROMAN = {1: "IV", 2: "III", 3: "II", 4: "I"}


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    return render(request, template, status_code=status_code, levels=LEVELS, roman=ROMAN, **context)


def _words(request: Request, key: str, **params: object) -> str:
    """A refusal this page makes itself, in the reader's language."""
    return translate(key, request_language(request), **params)


@router.get("/monitoring")
def dashboard(
    request: Request, hours: int = 24, principal: Principal = Depends(require("monitoring.read"))
) -> Response:
    hours = hours if hours in (6, 24, 72, 168) else 24
    with app_state(request).db.read() as session:
        view = service.dashboard(session, hours)
    stats = app_queue(request).stats()
    return _render(request, "monitoring/dashboard.html", view=view, hours=hours, stats=stats)


@router.get("/monitoring/panels")
def panels(
    request: Request, hours: int = 24, principal: Principal = Depends(require("monitoring.read"))
) -> Response:
    """The dashboard's lists, re-fetched by htmx every few seconds."""
    hours = hours if hours in (6, 24, 72, 168) else 24
    with app_state(request).db.read() as session:
        view = service.dashboard(session, hours)
    stats = app_queue(request).stats()
    return _render(request, "monitoring/_panels.html", view=view, hours=hours, stats=stats)


@router.get("/monitoring/topics/{topic_id}")
def topic(
    request: Request, topic_id: str, principal: Principal = Depends(require("monitoring.read"))
) -> Response:
    with app_state(request).db.read() as session:
        view = service.topic_view(session, topic_id)
    return _render(request, "monitoring/topic.html", view=view)


@router.get("/monitoring/posts")
def posts(request: Request, principal: Principal = Depends(require("monitoring.read"))) -> Response:
    """Stored posts, filtered and newest first: where every number of a briefing leads."""
    params = dict(request.query_params)
    error, page, chosen = None, browse.PostPage([], None), browse.PostFilter()
    try:
        chosen = browse.PostFilter.parse(params)
        with app_state(request).db.read() as session:
            page = browse.list_posts(session, chosen, params.get("cursor", ""))
    except ValidationError as exc:
        error = error_text(request, exc)
    next_link = None
    if page.next_cursor:
        next_link = "/monitoring/posts?" + browse.posts_query_string(
            **chosen.params(), cursor=page.next_cursor
        )
    return _render(
        request,
        "monitoring/posts.html",
        status_code=422 if error else 200,
        error=error,
        page=page,
        form={name: params.get(name, "") for name in browse.FORM_FIELDS},
        sentiments=browse.SENTIMENTS,
        categories=(*browse.CATEGORIES, browse.OTHER),
        next_link=next_link,
        first_link="/monitoring/posts?" + browse.posts_query_string(**chosen.params()),
        paged=bool(params.get("cursor")),
    )


# -- alerts ------------------------------------------------------------------------------------


def _alerts_page(
    request: Request, status: str | None, *, status_code: int = 200, error: str | None = None
) -> Response:
    with app_state(request).db.read() as session:
        alerts = service.list_alerts(session, status or None)
    return _render(
        request,
        "monitoring/alerts.html",
        status_code=status_code,
        alerts=alerts,
        status=status or "",
        statuses=("active", *service.ALERT_STATUSES),
        error=error,
    )


@router.get("/monitoring/alerts")
def alerts(
    request: Request,
    status: str = "active",
    principal: Principal = Depends(require("monitoring.read")),
) -> Response:
    try:
        return _alerts_page(request, status)
    except ValidationError as exc:
        return _alerts_page(request, "active", status_code=422, error=error_text(request, exc))


@router.post("/monitoring/alerts/{alert_id}/{action}")
def alert_action(
    request: Request,
    alert_id: int,
    action: str,
    hours: str = Form(""),
    note: str = Form(""),
    back: str = Form("active"),
    principal: Principal = Depends(require("monitoring.read")),
) -> Response:
    try:
        snooze_hours = float(hours) if hours.strip() else None
    except ValueError:
        return _alerts_page(
            request,
            back,
            status_code=422,
            error=_words(request, "error.monitoring.page_hours_not_number"),
        )
    try:
        with app_state(request).db.write() as session:
            service.change_alert(
                session, principal, alert_id, action, hours=snooze_hours, note=note or None
            )
    except ClamorError as exc:
        return _alerts_page(
            request, back, status_code=exc.status_code, error=error_text(request, exc)
        )
    back = back if back in ("active", *service.ALERT_STATUSES) else "active"
    return RedirectResponse(
        f"/monitoring/alerts?status={back}&done=notice.alert_updated", status_code=303
    )


# -- watch queries -----------------------------------------------------------------------------


def _queries_page(
    request: Request, *, status_code: int = 200, error: str | None = None, form: dict | None = None
) -> Response:
    with app_state(request).db.read() as session:
        queries = service.list_queries(session)
    return _render(
        request,
        "monitoring/queries.html",
        status_code=status_code,
        queries=queries,
        kinds=service.QUERY_KINDS,
        error=error,
        form=form or {},
    )


@router.get("/monitoring/queries")
def queries(
    request: Request, principal: Principal = Depends(require("monitoring.read"))
) -> Response:
    return _queries_page(request)


@router.post("/monitoring/queries")
def create_query(
    request: Request,
    name: str = Form(""),
    kind: str = Form("brand"),
    query: str = Form(""),
    principal: Principal = Depends(require("monitoring.manage")),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.create_query(s, principal, name, kind, query),
        "/monitoring/queries?done=notice.query_saved",
        _queries_page,
        form={"name": name, "kind": kind, "query": query},
    )


@router.post("/monitoring/queries/{query_id}")
def update_query(
    request: Request,
    query_id: int,
    name: str = Form(""),
    kind: str = Form("brand"),
    query: str = Form(""),
    enabled: str = Form(""),
    principal: Principal = Depends(require("monitoring.manage")),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.update_query(
            s, principal, query_id, name=name, kind=kind, query=query, enabled=enabled == "on"
        ),
        "/monitoring/queries?done=notice.query_saved",
        _queries_page,
    )


@router.post("/monitoring/queries/{query_id}/delete")
def delete_query(
    request: Request, query_id: int, principal: Principal = Depends(require("monitoring.manage"))
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.delete_query(s, principal, query_id),
        "/monitoring/queries?done=notice.query_deleted",
        _queries_page,
    )


@router.post("/monitoring/queries-test")
def test_query(
    request: Request,
    query: str = Form(""),
    principal: Principal = Depends(require("monitoring.read")),
) -> Response:
    """The tester's result as a fragment (htmx), or a 422 fragment naming the position."""
    try:
        with app_state(request).db.read() as session:
            result = service.test_query(session, query)
    except ValidationError as exc:
        return _render(
            request,
            "monitoring/_query_test.html",
            status_code=200,
            error=error_text(request, exc),
            result=None,
        )
    return _render(request, "monitoring/_query_test.html", error=None, result=result)


# -- sources -----------------------------------------------------------------------------------


def _sources_page(
    request: Request, *, status_code: int = 200, error: str | None = None, form: dict | None = None
) -> Response:
    with app_state(request).db.read() as session:
        sources = service.list_sources(session)
    return _render(
        request,
        "monitoring/sources.html",
        status_code=status_code,
        sources=sources,
        error=error,
        form=form or {},
    )


@router.get("/monitoring/sources")
def sources(
    request: Request, principal: Principal = Depends(require("monitoring.read"))
) -> Response:
    return _sources_page(request)


@router.post("/monitoring/sources")
def add_source(
    request: Request,
    name: str = Form(""),
    url: str = Form(""),
    interval: str = Form("300"),
    principal: Principal = Depends(require("monitoring.manage")),
) -> Response:
    form = {"name": name, "url": url, "interval": interval}
    try:
        seconds = int(interval)
    except ValueError:
        return _sources_page(
            request,
            status_code=422,
            error=_words(request, "error.monitoring.page_interval_not_whole"),
            form=form,
        )
    return apply_then_redirect(
        request,
        lambda s: service.add_feed(s, principal, name, url, seconds),
        "/monitoring/sources?done=notice.source_saved",
        _sources_page,
        form=form,
    )


@router.post("/monitoring/sources/{source_id}/{action}")
def source_action(
    request: Request,
    source_id: int,
    action: str,
    principal: Principal = Depends(require("monitoring.manage")),
) -> Response:
    changes: dict[str, Callable[[Session], object]] = {
        "enable": lambda s: service.set_source_enabled(s, principal, source_id, True),
        "disable": lambda s: service.set_source_enabled(s, principal, source_id, False),
        "delete": lambda s: service.delete_source(s, principal, source_id),
    }
    if action not in changes:
        return _sources_page(
            request,
            status_code=404,
            error=_words(request, "error.monitoring.page_unknown_action", action=repr(action)),
        )
    return apply_then_redirect(
        request, changes[action], "/monitoring/sources?done=notice.source_saved", _sources_page
    )


# -- the queue ---------------------------------------------------------------------------------


def _jobs_page(request: Request, *, status_code: int = 200, error: str | None = None) -> Response:
    queue = app_queue(request)
    db = app_state(request).db
    stats = queue.stats()
    # Items parked in the detection inbox (their detection failed every time) are listed with
    # the parked jobs, as `detect:<item id>`; they can be requeued, not discarded (the sweep
    # would only put an analysed, undetected item back).
    items = pipeline.parked_items(db, 200)
    return _render(
        request,
        "monitoring/jobs.html",
        status_code=status_code,
        stats=stats,
        parked_total=stats.parked + pipeline.parked_item_count(db),
        parked=[*items, *queue.parked(200)],
        workers=queue.workers(),
        error=error,
    )


@router.get("/monitoring/jobs")
def jobs(request: Request, principal: Principal = Depends(require("monitoring.read"))) -> Response:
    return _jobs_page(request)


@router.post("/monitoring/jobs/{job_id}/{action}")
def job_action(
    request: Request,
    job_id: str,
    action: str,
    principal: Principal = Depends(require("monitoring.manage")),
) -> Response:
    queue = app_queue(request)
    if job_id.startswith(pipeline.PARKED_ITEM_PREFIX):
        item_id = job_id.removeprefix(pipeline.PARKED_ITEM_PREFIX)
        if action != "requeue" or not item_id.isdigit():
            return _jobs_page(
                request,
                status_code=404,
                error=_words(request, "error.monitoring.page_unknown_action", action=repr(action)),
            )
        done = pipeline.requeue_parked_item(app_state(request).db, int(item_id))
    elif action == "requeue":
        done = queue.requeue_parked(job_id)
    elif action == "discard":
        done = queue.discard_parked(job_id)
    else:
        return _jobs_page(
            request,
            status_code=404,
            error=_words(request, "error.monitoring.page_unknown_action", action=repr(action)),
        )
    if not done:
        return _jobs_page(
            request,
            status_code=404,
            error=_words(request, "error.monitoring.page_no_parked_job", job=job_id),
        )
    from clamor.audit import service as audit

    with app_state(request).db.write() as session:
        audit.record(session, principal, f"monitoring.job.{action}", "queue_job", job_id)
    return RedirectResponse("/monitoring/jobs?done=notice.job_updated", status_code=303)
