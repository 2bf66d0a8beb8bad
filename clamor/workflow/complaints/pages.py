"""Complaint pages for staff: inbox (filters, search, keyset pages, bulk assign), case page
(timeline, analysis with highlighted reasons, communications, SLA clocks, allowed actions),
personal data reveal / export / erasure, and CSV/XLSX import with a mapping preview."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from clamor.accounts.models import User
from clamor.core import clock
from clamor.core.errors import ClamorError, NotFoundError, ValidationError
from clamor.core.principal import Principal
from clamor.intake.connectors import tabular
from clamor.intake.connectors.base import CHANNELS
from clamor.intake.models import Item
from clamor.org.models import Group
from clamor.web.deps import app_state, require
from clamor.web.render import render
from clamor.workflow.complaints import service
from clamor.workflow.complaints.inbox import InboxFilter, list_cases
from clamor.workflow.complaints.models import (
    Attachment,
    CaseEvent,
    Communication,
    ComplaintCase,
)
from clamor.workflow.complaints.sla_service import SLA_STATES, evaluate
from clamor.workflow.complaints.states import CaseState
from clamor.workflow.complaints.templates import TemplateKind, template_for
from clamor.workflow.complaints.templates import render as render_template
from clamor.workflow.vocabulary import Priority, RiskCategory

router = APIRouter(include_in_schema=False)
READ, ASSIGN = "complaints.read", "complaints.assign"
ACTION_FIELDS = (
    "reason",
    "assignee_group",
    "assignee_user",
    "message",
    "reply",
    "target_case",
    "incident_id",
)


def _choices() -> dict[str, Any]:
    return {
        "statuses": [s.value for s in CaseState],
        "categories": [c.value for c in RiskCategory],
        "priorities": [p.value for p in Priority],
        "channels": list(CHANNELS),
        "sla_states": list(SLA_STATES),
    }


def _assignees(session: Session) -> dict[str, Any]:
    users = session.execute(
        select(User.id, User.username, User.display_name)
        .where(User.is_active.is_(True))
        .order_by(User.username)
    ).all()
    groups = session.scalars(select(Group).order_by(Group.position, Group.id)).all()
    return {"users": users, "groups": groups}


def _optional(value: str) -> str | None:
    return value.strip() or None


@router.get("/complaints")
def inbox(
    request: Request,
    status: str = "",
    category: str = "",
    priority: str = "",
    channel: str = "",
    assignee: str = "",
    sla_state: str = "",
    q: str = "",
    before_id: int | None = None,
    principal: Principal = Depends(require(READ)),
) -> Response:
    assignee_id = int(assignee) if assignee.isdigit() else None
    filters = InboxFilter(
        _optional(status),
        _optional(category),
        _optional(priority),
        _optional(channel),
        assignee_id,
        _optional(sla_state),
        _optional(q),
        before_id,
    )
    with app_state(request).db.read() as session:
        cases, next_before = list_cases(session, filters)
        people = _assignees(session)
    query = {
        "status": status,
        "category": category,
        "priority": priority,
        "channel": channel,
        "assignee": assignee,
        "sla_state": sla_state,
        "q": q,
    }
    return render(
        request,
        "complaints/inbox.html",
        cases=cases,
        next_before=next_before,
        filters=query,
        can_assign=principal.can(ASSIGN),
        **people,
        **_choices(),
    )


@router.post("/complaints/bulk-assign")
async def bulk_assign(
    request: Request, principal: Principal = Depends(require(ASSIGN))
) -> Response:
    form = await request.form()
    ids = [int(v) for v in form.getlist("case_ids") if str(v).isdigit()]
    if not ids:
        raise ValidationError("choose at least one case", field="case_ids")
    fields = {
        "assignee_user": _optional(str(form.get("assignee_user", ""))),
        "assignee_group": _optional(str(form.get("assignee_group", ""))),
    }
    done = 0
    with app_state(request).db.write() as session:
        for case_id in ids:
            try:
                with session.begin_nested():
                    service.act(session, principal, case_id, "assign", dict(fields))
                done += 1
            except ValidationError:
                raise
            except ClamorError:
                continue  # this case's state does not allow assignment: left as it is
    notice = "notice.complaints_assigned" if done == len(ids) else "notice.complaints_some_skipped"
    return RedirectResponse(f"/complaints?done={notice}", status_code=303)


def highlight(text: str, spans: list[tuple[int, int]]) -> Markup:
    """The text with the given [start, end) spans wrapped in <mark>, everything escaped."""
    out, pos = [], 0
    for start, end in sorted(set(spans)):
        if start < pos or end > len(text):
            continue
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def _reason_spans(analysis: dict[str, Any]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for reason in analysis.get("severity", {}).get("reasons", []):
        spans += [tuple(s) for s in reason.get("spans", [])]  # type: ignore[misc]
    for reason in analysis.get("category", {}).get("reasons", []):
        spans += [tuple(s) for s in reason.get("spans", [])]  # type: ignore[misc]
    return spans


def _template_text(case: ComplaintCase, kind: str, principal: Principal, company: str) -> str:
    try:
        template = template_for(TemplateKind(kind), case.language)
    except ValueError:
        return ""
    person = case.complainant
    values = {
        "tracking_code": case.tracking_code,
        "name": (person.name if person and person.name else "") or "您好",
        "case_title": case.subject,
        "received_date": case.received_at.date().isoformat(),
        "due_date": case.resolution_due_at.date().isoformat() if case.resolution_due_at else "—",
        "handler_name": principal.display_name,
        "company_name": company,
        "status_url": "/complain/status",
        "reply_text": "",
        "reason": "",
        "message": "",
    }
    return render_template(template, values).body


def _case_context(
    session: Session, request: Request, principal: Principal, case_id: int, revealed: bool
) -> dict[str, Any]:
    case = service.get_case(session, case_id)
    item = session.get(Item, case.item_id)
    if item is None:
        raise NotFoundError(f"the intake item of case {case_id} is missing")
    analysis = item.analysis or {}
    text = item.text if revealed else service.masked_text(item)
    same_length = len(text) == len(item.text)
    events = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    comms = session.scalars(
        select(Communication).where(Communication.case_id == case.id).order_by(Communication.id)
    ).all()
    attachments = session.execute(
        select(Attachment.id, Attachment.filename, Attachment.size, Attachment.content_type).where(
            Attachment.case_id == case.id
        )
    ).all()
    template_kind = request.query_params.get("template", "")
    settings = app_state(request).settings
    return {
        "case": case,
        "item": item,
        "analysis": analysis,
        "text_html": highlight(text, _reason_spans(analysis) if same_length else []),
        "contact": service.contact_view(case.complainant, revealed),
        "revealed": revealed,
        "events": events,
        "communications": comms,
        "attachments": attachments,
        "sla": evaluate(case, clock.now()),
        "actions": service.actions_for(principal, case),
        "can_reveal": principal.can("complaints.reveal_pii"),
        "template_kinds": [k.value for k in TemplateKind],
        "template_kind": template_kind,
        "template_text": _template_text(case, template_kind, principal, settings.company_name)
        if template_kind
        else "",
        **_assignees(session),
    }


@router.get("/complaints/{case_id:int}")
def case_page(
    request: Request, case_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    with app_state(request).db.read() as session:
        context = _case_context(session, request, principal, case_id, revealed=False)
    return render(request, "complaints/case.html", **context)


@router.post("/complaints/{case_id:int}/reveal")
def reveal(
    request: Request, case_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    with app_state(request).db.write() as session:
        service.reveal(session, principal, case_id)
        context = _case_context(session, request, principal, case_id, revealed=True)
    return render(request, "complaints/case.html", **context)


@router.post("/complaints/{case_id:int}/act")
async def act(
    request: Request, case_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    action = str(form.get("action", ""))
    fields = {name: str(form.get(name, "")) for name in ACTION_FIELDS if form.get(name)}
    with app_state(request).db.write() as session:
        service.act(session, principal, case_id, action, fields)
    return RedirectResponse(f"/complaints/{case_id}?done=notice.complaint_updated", status_code=303)


@router.post("/complaints/{case_id:int}/communications")
async def add_communication(
    request: Request, case_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    with app_state(request).db.write() as session:
        service.add_communication(
            session,
            principal,
            case_id,
            kind=str(form.get("kind", "")),
            direction=str(form.get("direction", "")),
            body=str(form.get("body", "")),
            subject=str(form.get("subject", "")),
        )
    return RedirectResponse(f"/complaints/{case_id}?done=notice.complaint_updated", status_code=303)


@router.post("/complaints/complainants/{complainant_id:int}/export")
def export_complainant(
    request: Request, complainant_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    with app_state(request).db.write() as session:
        data = service.export_complainant(session, principal, complainant_id)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="complainant-{complainant_id}.json"'
        },
    )


@router.post("/complaints/complainants/{complainant_id:int}/erase")
async def erase_complainant(
    request: Request, complainant_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    back = str(form.get("back", "/complaints"))
    with app_state(request).db.write() as session:
        service.erase_complainant(session, principal, complainant_id, str(form.get("reason", "")))
    target = back if back.startswith("/complaints") else "/complaints"
    return RedirectResponse(f"{target}?done=notice.complainant_erased", status_code=303)


# --- import -----------------------------------------------------------------------------------


def _upload_dir(request: Request) -> Path:
    path = app_state(request).settings.data_dir / "uploads" / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@router.get("/complaints/import")
def import_page(
    request: Request, principal: Principal = Depends(require("complaints.handle"))
) -> Response:
    return render(request, "complaints/import.html", parsed=None, result=None, **_import_ctx())


def _import_ctx() -> dict[str, Any]:
    return {
        "channels": [c for c in CHANNELS if c not in ("webform", "api", "email")],
        "fields": tabular.FIELDS,
        "token": "",
        "filename": "",
        "channel": "hotline",
        "mapping_text": "",
    }


@router.post("/complaints/import")
async def import_upload(
    request: Request, principal: Principal = Depends(require("complaints.handle"))
) -> Response:
    """Step 1 (a file) or step 2 (`token` of the file kept from step 1, `confirm`)."""
    form = await request.form()
    channel = str(form.get("channel", "hotline"))
    if channel not in CHANNELS:
        raise ValidationError(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    mapping_text = str(form.get("mapping", ""))
    token = str(form.get("token", ""))
    upload = form.get("file")
    if upload is not None and hasattr(upload, "read") and getattr(upload, "filename", ""):
        data = await upload.read()
        filename = str(upload.filename)
        token = secrets.token_hex(16)
        (_upload_dir(request) / token).write_bytes(data)
        (_upload_dir(request) / f"{token}.name").write_text(filename, encoding="utf-8")
    elif len(token) == 32 and token.isalnum() and (_upload_dir(request) / token).exists():
        data = (_upload_dir(request) / token).read_bytes()
        filename = (_upload_dir(request) / f"{token}.name").read_text(encoding="utf-8")
    else:
        raise ValidationError("choose a CSV or XLSX file", field="file")
    mapping = tabular.parse_mapping(mapping_text) if mapping_text.strip() else None
    parsed = tabular.parse(data, filename, channel, mapping, check=service.check)
    result = None
    if form.get("confirm") and parsed.good:
        with app_state(request).db.write() as session:
            outcomes = service.submit(session, principal, [c for _, c in parsed.good])
        result = {
            "created": sum(o.created for o in outcomes),
            "existing": sum(not o.created for o in outcomes),
        }
    mapping_text = ",".join(f"{k}={v}" for k, v in parsed.mapping.items())
    ctx = {
        **_import_ctx(),
        "token": token,
        "filename": filename,
        "channel": channel,
        "mapping_text": mapping_text,
    }
    return render(request, "complaints/import.html", parsed=parsed, result=result, **ctx)
