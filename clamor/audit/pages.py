"""The Audit page: who did what, when — filterable, newest first, keyset paginated."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clamor.audit import service as audit
from clamor.core.errors import Term, ValidationError
from clamor.core.i18n import action_label
from clamor.core.principal import Principal
from clamor.web.deps import app_state, request_language, require
from clamor.web.render import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _date(value: str, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValidationError.keyed(
            "error.audit.bad_date", field=field, label=Term(f"error.audit.label.{field}")
        ) from exc


@router.get("/audit")
def audit_page(
    request: Request,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    since: str = "",
    until: str = "",
    before_id: int | None = None,
    principal: Principal = Depends(require("audit.read")),
) -> Response:
    filters = audit.AuditFilter(
        actor=actor.strip() or None,
        action=action.strip() or None,
        object_type=object_type.strip() or None,
        since=_date(since, "since"),
        until=_date(until, "until"),
        before_id=before_id,
    )
    with app_state(request).db.read() as session:
        entries = audit.search(session, filters, PAGE_SIZE)
    older = entries[-1].id if len(entries) == PAGE_SIZE else None
    query = {
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "since": since,
        "until": until,
    }
    language = request_language(request)
    return render(
        request,
        "audit/audit.html",
        entries=entries,
        filters=query,
        older=older,
        action_label=lambda action: action_label(action, language),
    )
