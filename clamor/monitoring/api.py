"""JSON routes of monitoring: the post intake (webhook / JSONL), alerts, watch queries, topics,
the dashboard's figures."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from clamor.core.errors import ValidationError
from clamor.core.principal import Principal
from clamor.monitoring import pipeline, service
from clamor.monitoring.posts import PostError, parse_batch, read_jsonl
from clamor.queue.base import Queue
from clamor.web.deps import app_state, require

router = APIRouter(prefix="/api/v1", tags=["monitoring"])

MAX_BODY_BYTES = 10_000_000
MAX_POSTS = 10_000


def app_queue(request: Request) -> Queue:
    return request.app.state.queue


def _decode_posts(raw: bytes, content_type: str) -> list[tuple[int | None, object]]:
    """The body as (line, post) pairs: a JSON object, an array, {"posts": [...]}, or JSONL."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError.keyed("error.monitoring.body_not_utf8", field="body") from None
    if not text.strip():
        raise ValidationError.keyed("error.monitoring.body_empty", field="body")
    jsonl = "ndjson" in content_type or "jsonl" in content_type
    if not jsonl:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if text.lstrip().startswith("{") and "\n" in text.strip():
                jsonl = True  # JSONL sent as application/json
            else:
                raise ValidationError.keyed(
                    "error.monitoring.body_not_json",
                    field="body",
                    line=exc.lineno,
                    column=exc.colno,
                    detail=exc.msg,
                ) from None
        else:
            if isinstance(value, dict) and isinstance(value.get("posts"), list):
                value = value["posts"]
            return [(None, post) for post in (value if isinstance(value, list) else [value])]
    return list(read_jsonl(text))  # type: ignore[arg-type]


@router.post("/posts", status_code=202)
async def ingest_posts(
    request: Request, principal: Principal = Depends(require("monitoring.manage"))
) -> JSONResponse:
    """Take social posts (one JSON object, an array, `{"posts": [...]}`, or JSONL with
    `Content-Type: application/x-ndjson`). Each post is validated on its own: the answer lists
    what was stored, what was known already, and one error per bad post with its index (and line
    for JSONL) and field. 202 when at least one post was valid, 422 when none was."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ValidationError.keyed(
            "error.monitoring.body_too_large", field="body", max=MAX_BODY_BYTES
        )
    pairs = _decode_posts(raw, request.headers.get("content-type", ""))
    if len(pairs) > MAX_POSTS:
        raise ValidationError.keyed("error.monitoring.too_many_posts", field="body", max=MAX_POSTS)
    decoded = [(line, post) for line, post in pairs if not isinstance(post, PostError)]
    errors = [post for _, post in pairs if isinstance(post, PostError)]
    good, bad = parse_batch(decoded)
    errors += bad
    stored = []
    if good:
        with app_state(request).db.write() as session:
            stored = pipeline.ingest(session, app_queue(request), [item for _, item in good])
    created = sum(1 for s in stored if s.created)
    body = {
        "received": len(pairs),
        "stored": created,
        "duplicates": len(stored) - created,
        "item_ids": [s.item_id for s in stored],
        "errors": [error.to_dict() for error in errors],
    }
    return JSONResponse(body, status_code=202 if good else 422)


@router.get("/monitoring/dashboard")
def dashboard(
    request: Request, hours: int = 24, principal: Principal = Depends(require("monitoring.read"))
) -> dict[str, Any]:
    """Volume by sentiment and category per hour, share of voice, top authors (for the charts)."""
    with app_state(request).db.read() as session:
        view = service.dashboard(session, hours)
        return {
            **view.charts(),
            "alerts": [service.alert_to_dict(a) for a in view.alerts],
            "topics": [
                {"id": t.id, "keywords": t.keywords, "volume": t.volume, "reach": t.reach}
                for t in view.topics
            ],
        }


@router.get("/monitoring/alerts")
def alerts(
    request: Request,
    status: str | None = None,
    principal: Principal = Depends(require("monitoring.read")),
) -> list[dict[str, Any]]:
    with app_state(request).db.read() as session:
        return [service.alert_to_dict(a) for a in service.list_alerts(session, status)]


class AlertAction(BaseModel):
    hours: float | None = None
    note: str | None = None


@router.post("/monitoring/alerts/{alert_id}/{action}")
def alert_action(
    request: Request,
    alert_id: int,
    action: str,
    body: AlertAction | None = None,
    principal: Principal = Depends(require("monitoring.read")),
) -> dict[str, Any]:
    """acknowledge | snooze (`hours`) | mark_false | reopen."""
    body = body or AlertAction()
    with app_state(request).db.write() as session:
        row = service.change_alert(
            session, principal, alert_id, action, hours=body.hours, note=body.note
        )
        return service.alert_to_dict(row)


class QueryIn(BaseModel):
    name: str
    kind: str = "brand"
    query: str


@router.get("/monitoring/queries")
def queries(
    request: Request, principal: Principal = Depends(require("monitoring.read"))
) -> list[dict[str, Any]]:
    with app_state(request).db.read() as session:
        return [
            {"id": q.id, "name": q.name, "kind": q.kind, "query": q.query, "enabled": q.enabled}
            for q in service.list_queries(session)
        ]


@router.post("/monitoring/queries", status_code=201)
def create_query(
    request: Request, body: QueryIn, principal: Principal = Depends(require("monitoring.manage"))
) -> dict[str, Any]:
    with app_state(request).db.write() as session:
        row = service.create_query(session, principal, body.name, body.kind, body.query)
        return {"id": row.id, "name": row.name, "kind": row.kind, "query": row.query}


class QueryTestIn(BaseModel):
    query: str


@router.post("/monitoring/queries/test")
def test_query(
    request: Request,
    body: QueryTestIn,
    principal: Principal = Depends(require("monitoring.read")),
) -> dict[str, Any]:
    """Run a query over the most recent stored items without saving it."""
    with app_state(request).db.read() as session:
        result = service.test_query(session, body.query)
        return {
            "scanned": result.scanned,
            "matches": [
                {
                    "item_id": hit.item.id,
                    "text": hit.item.text,
                    "terms": list(hit.terms),
                    "highlights": [[h.start, h.end] for h in hit.highlights],
                }
                for hit in result.hits
            ],
        }


@router.get("/monitoring/topics/{topic_id}")
def topic(
    request: Request, topic_id: str, principal: Principal = Depends(require("monitoring.read"))
) -> dict[str, Any]:
    with app_state(request).db.read() as session:
        view = service.topic_view(session, topic_id)
        t = view.topic
        return {
            "id": t.id,
            "keywords": t.keywords,
            "first_seen": t.first_seen.isoformat(),
            "last_seen": t.last_seen.isoformat(),
            "volume": t.volume,
            "copies": t.copies,
            "reach": t.reach,
            "sentiment": t.sentiment,
            "categories": t.categories,
            "timeline": view.timeline,
            "posts": [
                {"item_id": item.id, "author": item.author, "text": item.text, "reach": post.reach}
                for post, item in view.posts
            ],
            "alerts": [service.alert_to_dict(a) for a in view.alerts],
        }
