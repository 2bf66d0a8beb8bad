"""JSON routes of complaint cases: intake (one, or a batch of up to 1,000 with a result per
item, `Idempotency-Key` honoured), the inbox, one case, and actions."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError as PydanticError
from sqlalchemy import select
from sqlalchemy.orm import Session

from clamor.core import clock
from clamor.core.errors import ClamorError, ConflictError, NotFoundError, ValidationError
from clamor.core.principal import Principal
from clamor.intake.connectors.base import ComplaintIn
from clamor.web.deps import app_state, require
from clamor.workflow.complaints import service
from clamor.workflow.complaints.inbox import InboxFilter, list_cases
from clamor.workflow.complaints.models import ComplaintCase, IdempotencyRecord
from clamor.workflow.complaints.schemas import (
    ActionIn,
    BatchResult,
    CasePage,
    CaseRead,
    ComplaintBatch,
    ComplaintCreate,
    ComplaintResult,
    ContactRead,
    ItemError,
)

router = APIRouter(prefix="/api/v1", tags=["complaints"])
MAX_BODY_BYTES = 20_000_000
WRITE = "complaints.handle"


class PayloadTooLarge(ClamorError):
    status_code = 413
    code = "too_large"


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge.keyed(
            "error.complaints.body_too_large", mb=MAX_BODY_BYTES // 1_000_000
        )
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge.keyed(
            "error.complaints.body_too_large", mb=MAX_BODY_BYTES // 1_000_000
        )
    return body


def _to_complaint(model: ComplaintCreate) -> ComplaintIn:
    return ComplaintIn(**model.model_dump())


def _pydantic_refusal(exc: PydanticError) -> ValidationError:
    """The first problem pydantic found, as our error ("field: what is wrong")."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "item"
    if first.get("type") == "missing":
        return ValidationError.keyed("error.request.missing", field=field)
    return ValidationError.keyed(
        "error.request.invalid", field=field, detail=first.get("msg", "invalid")
    )


def _validated(raw: dict[str, Any]) -> ComplaintIn | ClamorError:
    try:
        complaint = _to_complaint(ComplaintCreate.model_validate(raw))
        service.check(complaint)
    except PydanticError as exc:
        return _pydantic_refusal(exc)
    except ClamorError as exc:
        return exc
    return complaint


def _intake(
    session: Session, actor: Principal, checked: list[ComplaintIn | ClamorError]
) -> BatchResult:
    """Store the good complaints of `checked` (what `_validated` made of each item)."""
    good = [(i, c) for i, c in enumerate(checked) if isinstance(c, ComplaintIn)]
    submitted = service.submit_ids(session, actor, [c for _, c in good])
    results: list[ComplaintResult] = [
        ComplaintResult(index=i, result="error", error=_item_error(c))
        for i, c in enumerate(checked)
        if isinstance(c, ClamorError)
    ]
    for (index, _), outcome in zip(good, submitted, strict=True):
        results.append(
            ComplaintResult(
                index=index,
                result="created" if outcome.created else "existing",
                id=outcome.case_id,
                tracking_code=outcome.tracking_code,
            )
        )
    results.sort(key=lambda r: r.index)
    return BatchResult(
        created=sum(r.result == "created" for r in results),
        existing=sum(r.result == "existing" for r in results),
        errors=sum(r.result == "error" for r in results),
        results=results,
    )


def _item_error(refusal: ClamorError) -> ItemError:
    return ItemError(field=refusal.field or "item", message=refusal.message)


def _replay(session: Session, owner: str, key: str | None, digest: str) -> IdempotencyRecord | None:
    if not key:
        return None
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.owner == owner, IdempotencyRecord.key == key
        )
    )
    if record is not None and record.request_hash != digest:
        raise ConflictError.keyed(
            "error.complaints.idempotency_key_reused", field="Idempotency-Key"
        )
    return record


async def _idempotent(
    request: Request,
    principal: Principal,
    key: str | None,
    handle: Any,
) -> JSONResponse:
    """Run `handle(session, body) -> (status, payload)` once per Idempotency-Key."""
    body = await _body(request)
    if key is not None and not 1 <= len(key) <= 200:
        raise ValidationError.keyed(
            "error.complaints.idempotency_key_length", field="Idempotency-Key"
        )
    owner = f"user:{principal.user_id}"
    digest = hashlib.sha256(body).hexdigest()
    with app_state(request).db.write() as session:
        record = _replay(session, owner, key, digest)
        if record is not None:
            return JSONResponse(
                record.response, record.status_code, headers={"Idempotent-Replayed": "true"}
            )
        status, payload = handle(session, body)
        if key:
            session.add(
                IdempotencyRecord(
                    owner=owner,
                    key=key,
                    request_hash=digest,
                    status_code=status,
                    response=payload,
                    created_at=clock.now(),
                )
            )
    return JSONResponse(payload, status)


def _json(body: bytes) -> Any:
    import json

    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise ValidationError.keyed(
            "error.complaints.not_json", field="body", detail=str(exc)
        ) from exc


@router.post(
    "/complaints",
    status_code=201,
    response_model=ComplaintResult,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": ComplaintCreate.model_json_schema()}}
        }
    },
)
async def create_complaint(
    request: Request,
    idempotency_key: str | None = Header(default=None),
    principal: Principal = Depends(require(WRITE)),
) -> JSONResponse:
    """One complaint: 201 with its tracking code, 200 when its external_id arrived before."""

    def handle(session: Session, body: bytes) -> tuple[int, dict[str, Any]]:
        raw = _json(body)
        if not isinstance(raw, dict):
            raise ValidationError.keyed("error.complaints.json_object_expected", field="body")
        checked = _validated(raw)
        if isinstance(checked, ClamorError):
            raise ValidationError.keyed(
                "error.complaints.detail", field=checked.field or "item", detail=checked
            )
        outcome = _intake(session, principal, [checked]).results[0]
        return (201 if outcome.result == "created" else 200), outcome.model_dump(mode="json")

    return await _idempotent(request, principal, idempotency_key, handle)


@router.post(
    "/complaints/batch",
    response_model=BatchResult,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": ComplaintBatch.model_json_schema()}}
        }
    },
)
async def create_complaints(
    request: Request,
    idempotency_key: str | None = Header(default=None),
    principal: Principal = Depends(require(WRITE)),
) -> JSONResponse:
    """Up to 1,000 complaints in one transaction; a result per item (bad items are reported and
    skipped, good ones stored)."""

    def handle(session: Session, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            batch = ComplaintBatch.model_validate(_json(body))
        except PydanticError as exc:
            raise _pydantic_refusal(exc) from exc
        checked = [_validated(raw) for raw in batch.items]
        return 200, _intake(session, principal, checked).model_dump(mode="json")

    return await _idempotent(request, principal, idempotency_key, handle)


def case_read(case: ComplaintCase, principal: Principal) -> CaseRead:
    contact = service.contact_view(case.complainant, revealed=False)
    return CaseRead(
        id=case.id,
        tracking_code=case.tracking_code,
        channel=case.channel,
        subject=case.subject,
        status=case.status,
        priority=case.priority,
        category=case.category,
        severity=case.severity,
        sla_state=case.sla_state,
        received_at=case.received_at,
        first_response_due_at=case.first_response_due_at,
        resolution_due_at=case.resolution_due_at,
        assignee_group_id=case.assignee_group_id,
        assignee_user_id=case.assignee_user_id,
        repeat_of_id=case.repeat_of_id,
        merged_into_id=case.merged_into_id,
        incident_id=case.incident_id,
        contact=ContactRead(**contact.__dict__) if contact else None,
        allowed_actions=list(service.actions_for(principal, case)),
    )


@router.get("/complaints", response_model=CasePage)
def list_complaints(
    request: Request,
    status: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    channel: str | None = None,
    assignee_user_id: int | None = None,
    sla_state: str | None = None,
    q: str | None = None,
    before_id: int | None = None,
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require("complaints.read")),
) -> CasePage:
    filters = InboxFilter(
        status, category, priority, channel, assignee_user_id, sla_state, q, before_id
    )
    with app_state(request).db.read() as session:
        cases, next_before = list_cases(session, filters, limit)
        items = [case_read(case, principal) for case in cases]
    return CasePage(items=items, next_before_id=next_before)


def _case_by_ref(session: Session, ref: str) -> ComplaintCase:
    if ref.isdigit():
        return service.get_case(session, int(ref))
    found = service.find_by_code(session, ref)
    if found is None:
        raise NotFoundError.keyed("error.complaints.no_case_code", code=ref)
    return found


@router.get("/complaints/{ref}", response_model=CaseRead)
def read_complaint(
    request: Request, ref: str, principal: Principal = Depends(require("complaints.read"))
) -> CaseRead:
    """One case by id or tracking code (personal data masked)."""
    with app_state(request).db.read() as session:
        return case_read(_case_by_ref(session, ref), principal)


@router.post("/complaints/{ref}/actions", response_model=CaseRead)
def act_on_complaint(
    request: Request,
    ref: str,
    body: ActionIn,
    principal: Principal = Depends(require("complaints.read")),
) -> CaseRead:
    """Take an action (see docs/workflow.md for the table); 409 when the state does not allow
    it, 403 without the permission, 422 naming a missing field."""
    fields = body.model_dump(exclude={"action"}, exclude_none=True)
    with app_state(request).db.write() as session:
        case = _case_by_ref(session, ref)
        case = service.act(session, principal, case.id, body.action, fields)
        return case_read(case, principal)
