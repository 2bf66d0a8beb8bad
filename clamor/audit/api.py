"""JSON routes of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from clamor.audit import service as audit
from clamor.core.principal import Principal
from clamor.web.deps import app_state, require

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit")
def list_audit(
    request: Request,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = Query(50, ge=1, le=500),
    principal: Principal = Depends(require("audit.read")),
) -> dict[str, Any]:
    filters = audit.AuditFilter(actor, action, object_type, object_id, since, until, before_id)
    with app_state(request).db.read() as session:
        entries = audit.search(session, filters, limit)
    items = [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "before": e.before,
            "after": e.after,
            "reason": e.reason,
        }
        for e in entries
    ]
    next_before = items[-1]["id"] if len(items) == limit else None
    return {"items": items, "next_before_id": next_before}
