"""Complaint pages for staff: inbox (filters, search, keyset pages, bulk assign), case page
(timeline, analysis with highlighted reasons, communications, SLA clocks, allowed actions),
personal data reveal / export / erasure, and CSV/XLSX import with a mapping preview."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from clamor.accounts.models import User
from clamor.core import clock
from clamor.core.errors import ClamorError, NotFoundError, Term, ValidationError
from clamor.core.principal import Principal
from clamor.intake.connectors import tabular
from clamor.intake.connectors.base import CHANNELS
from clamor.intake.models import Item
from clamor.org.models import Group
from clamor.web.deps import app_state, current_principal, require, require_any
from clamor.web.forms import apply_then_redirect
from clamor.web.render import render
from clamor.workflow.complaints import reply_templates, service, sla_service
from clamor.workflow.complaints.inbox import InboxFilter, list_cases
from clamor.workflow.complaints.models import (
    Attachment,
    CaseEvent,
    Communication,
    ComplaintCase,
)
from clamor.workflow.complaints.sla_service import SLA_STATES, evaluate
from clamor.workflow.complaints.states import CaseState
from clamor.workflow.complaints.templates import PLACEHOLDERS, TemplateKind
from clamor.workflow.complaints.templates import render as render_template
from clamor.workflow.sla import ClockKind
from clamor.workflow.vocabulary import Priority, RiskCategory

router = APIRouter(include_in_schema=False)
READ, ASSIGN, CONFIGURE = "complaints.read", "complaints.assign", "complaints.configure"
FILTER_NAMES = ("status", "category", "priority", "channel", "assignee", "sla_state", "q")


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


def _inbox_page(
    request: Request,
    *,
    status_code: int = 200,
    error: str | None = None,
    filters: InboxFilter | None = None,
    query: dict[str, str] | None = None,
) -> Response:
    principal = current_principal(request)
    with app_state(request).db.read() as session:
        cases, next_before = list_cases(session, filters or InboxFilter())
        people = _assignees(session)
    return render(
        request,
        "complaints/inbox.html",
        status_code=status_code,
        error=error,
        cases=cases,
        next_before=next_before,
        filters=query or dict.fromkeys(FILTER_NAMES, ""),
        can_assign=principal.can(ASSIGN),
        can_configure=principal.can(CONFIGURE),
        **people,
        **_choices(),
    )


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
    query = {
        "status": status,
        "category": category,
        "priority": priority,
        "channel": channel,
        "assignee": assignee,
        "sla_state": sla_state,
        "q": q,
    }
    return _inbox_page(request, filters=filters, query=query)


def _assign_each(
    session: Session, principal: Principal, ids: list[int], fields: dict[str, str | None]
) -> int:
    """Assign each case; one whose state does not allow it is skipped. Returns how many."""
    done = 0
    for case_id in ids:
        try:
            with session.begin_nested():
                service.act(session, principal, case_id, "assign", dict(fields))
            done += 1
        except ValidationError:
            raise
        except ClamorError:
            continue  # this case's state does not allow assignment: left as it is
    return done


@router.post("/complaints/bulk-assign")
def bulk_assign(
    request: Request,
    case_ids: list[str] = Form([]),
    assignee_user: str = Form(""),
    assignee_group: str = Form(""),
    principal: Principal = Depends(require(ASSIGN)),
) -> Response:
    ids = [int(v) for v in case_ids if v.isdigit()]
    fields = {
        "assignee_user": _optional(assignee_user),
        "assignee_group": _optional(assignee_group),
    }
    done: list[int] = []

    def change(session: Session) -> None:
        if not ids:
            raise ValidationError.keyed("error.complaints.choose_cases", field="case_ids")
        done.append(_assign_each(session, principal, ids, fields))

    response = apply_then_redirect(request, change, "/complaints", _inbox_page)
    if done and done[0] != len(ids):
        response.headers["location"] = "/complaints?done=notice.complaints_some_skipped"
    elif done:
        response.headers["location"] = "/complaints?done=notice.complaints_assigned"
    return response


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


def _template_text(
    session: Session, case: ComplaintCase, kind: str, principal: Principal, company: str
) -> str:
    try:
        template = reply_templates.template(session, TemplateKind(kind), case.language)
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
        raise NotFoundError.keyed("error.complaints.item_missing", case_id=case_id)
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
        "sla": evaluate(
            case,
            clock.now(),
            sla_service.policy_set(session),
            sla_service.business_calendar(session),
        ),
        "actions": service.actions_for(principal, case),
        "can_reveal": principal.can("complaints.reveal_pii"),
        "template_kinds": [k.value for k in TemplateKind],
        "template_kind": template_kind,
        "template_text": _template_text(
            session, case, template_kind, principal, settings.company_name
        )
        if template_kind
        else "",
        **_assignees(session),
    }


def _case_page(
    request: Request,
    *,
    status_code: int = 200,
    error: str | None = None,
    case_id: int,
    revealed: bool = False,
) -> Response:
    principal = current_principal(request)
    with app_state(request).db.read() as session:
        context = _case_context(session, request, principal, case_id, revealed=revealed)
    return render(request, "complaints/case.html", status_code=status_code, error=error, **context)


@router.get("/complaints/{case_id:int}")
def case_page(
    request: Request, case_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    return _case_page(request, case_id=case_id)


@router.post("/complaints/{case_id:int}/reveal")
def reveal(
    request: Request, case_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    with app_state(request).db.write() as session:
        service.reveal(session, principal, case_id)
        context = _case_context(session, request, principal, case_id, revealed=True)
    return render(request, "complaints/case.html", error=None, **context)


def _updated(case_id: int) -> str:
    return f"/complaints/{case_id}?done=notice.complaint_updated"


@router.post("/complaints/{case_id:int}/act")
def act(
    request: Request,
    case_id: int,
    action: str = Form(""),
    reason: str = Form(""),
    assignee_group: str = Form(""),
    assignee_user: str = Form(""),
    message: str = Form(""),
    reply: str = Form(""),
    target_case: str = Form(""),
    incident_id: str = Form(""),
    principal: Principal = Depends(require(READ)),
) -> Response:
    typed = {
        "reason": reason,
        "assignee_group": assignee_group,
        "assignee_user": assignee_user,
        "message": message,
        "reply": reply,
        "target_case": target_case,
        "incident_id": incident_id,
    }
    fields = {name: value for name, value in typed.items() if value}
    return apply_then_redirect(
        request,
        lambda s: service.act(s, principal, case_id, action, fields),
        _updated(case_id),
        _case_page,
        case_id=case_id,
    )


@router.post("/complaints/{case_id:int}/communications")
def add_communication(
    request: Request,
    case_id: int,
    kind: str = Form(""),
    direction: str = Form(""),
    body: str = Form(""),
    subject: str = Form(""),
    principal: Principal = Depends(require(READ)),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.add_communication(
            s, principal, case_id, kind=kind, direction=direction, body=body, subject=subject
        ),
        _updated(case_id),
        _case_page,
        case_id=case_id,
    )


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
def erase_complainant(
    request: Request,
    complainant_id: int,
    reason: str = Form(""),
    back: str = Form("/complaints"),
    principal: Principal = Depends(require(READ)),
) -> Response:
    target = back if back.startswith("/complaints") and "//" not in back else "/complaints"
    return apply_then_redirect(
        request,
        lambda s: service.erase_complainant(s, principal, complainant_id, reason),
        f"{target}?done=notice.complainant_erased",
        _inbox_page,
    )


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
    request: Request,
    channel: str = Form("hotline"),
    mapping: str = Form(""),
    token: str = Form(""),
    confirm: str = Form(""),
    file: UploadFile | None = File(None),
    principal: Principal = Depends(require("complaints.handle")),
) -> Response:
    """Step 1 (a file) or step 2 (`token` of the file kept from step 1, `confirm`)."""
    if channel not in CHANNELS:
        raise ValidationError.keyed(
            "error.complaints.one_of",
            field="channel",
            name=Term("error.complaints.field.channel"),
            allowed=", ".join(CHANNELS),
        )
    if file is not None and file.filename:
        data = await file.read()
        filename = str(file.filename)
        token = secrets.token_hex(16)
        (_upload_dir(request) / token).write_bytes(data)
        (_upload_dir(request) / f"{token}.name").write_text(filename, encoding="utf-8")
    elif len(token) == 32 and token.isalnum() and (_upload_dir(request) / token).exists():
        data = (_upload_dir(request) / token).read_bytes()
        filename = (_upload_dir(request) / f"{token}.name").read_text(encoding="utf-8")
    else:
        raise ValidationError.keyed("error.complaints.choose_file", field="file")
    columns = tabular.parse_mapping(mapping) if mapping.strip() else None
    parsed = tabular.parse(data, filename, channel, columns, check=service.check)
    result = None
    if confirm and parsed.good:
        with app_state(request).db.write() as session:
            outcomes = service.submit_ids(session, principal, [c for _, c in parsed.good])
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


# --- settings: SLA policies and reply templates (complaints.configure) ------------------------


def _settings_page(
    request: Request,
    *,
    status_code: int = 200,
    error: str | None = None,
    editing: dict[str, str] | None = None,
    day_form: dict[str, str] | None = None,
) -> Response:
    principal = current_principal(request)
    with app_state(request).db.read() as session:
        policies = sla_service.policy_inputs(sla_service.policy_set(session))
        company_days = sla_service.company_days(session)
        templates = reply_templates.templates_in_force(session)
        edited = reply_templates.edited_keys(session)
    return render(
        request,
        "complaints/settings.html",
        status_code=status_code,
        error=error,
        policies=policies,
        templates=sorted(templates, key=lambda t: (list(TemplateKind).index(t.kind), t.language)),
        edited=edited,
        editing=editing or {},
        placeholders=sorted(PLACEHOLDERS),
        can_configure=principal.can(CONFIGURE),
        priorities=[p.value for p in Priority],
        categories=[sla_service.ANY_CATEGORY, *(c.value for c in RiskCategory)],
        clocks=[k.value for k in ClockKind],
        company_days=company_days,
        day_kinds=sla_service.COMPANY_DAY_KINDS,
        day_form=day_form or {},
    )


@router.get("/complaints/settings")
def settings_page(
    request: Request, principal: Principal = Depends(require_any(READ, CONFIGURE))
) -> Response:
    return _settings_page(request)


def _hours(value: str, field: str) -> float:
    try:
        return float(value.strip().replace(",", "."))
    except ValueError:
        raise ValidationError.keyed(
            "error.complaints.not_hours", field=field, value=value
        ) from None


def _policy_entries(
    priority: list[str],
    category: list[str],
    first_response_hours: list[str],
    resolution_hours: list[str],
    clock_kind: list[str],
    remove: list[str],
) -> list[sla_service.PolicyIn]:
    """The rows of the policy form (a row whose index is in `remove` is left out; a row with
    both budgets empty is the unused "add" row)."""
    columns = (priority, category, first_response_hours, resolution_hours, clock_kind)
    if len({len(c) for c in columns}) != 1:
        raise ValidationError.keyed("error.complaints.policy_columns", field="policies")
    entries = []
    for i, (prio, cat, first, resolution, kind) in enumerate(zip(*columns, strict=True)):
        if str(i) in remove or not (first.strip() or resolution.strip()):
            continue
        where = f"policies[{i}]"
        entries.append(
            sla_service.PolicyIn(
                prio,
                cat,
                _hours(first, f"{where}.first_response_hours"),
                _hours(resolution, f"{where}.resolution_hours"),
                kind,
            )
        )
    return entries


@router.post("/complaints/settings/sla")
def save_sla_policies(
    request: Request,
    priority: list[str] = Form([]),
    category: list[str] = Form([]),
    first_response_hours: list[str] = Form([]),
    resolution_hours: list[str] = Form([]),
    clock_kind: list[str] = Form([]),
    remove: list[str] = Form([]),
    reason: str = Form(""),
    principal: Principal = Depends(require(CONFIGURE)),
) -> Response:
    def change(session: Session) -> None:
        entries = _policy_entries(
            priority, category, first_response_hours, resolution_hours, clock_kind, remove
        )
        sla_service.save_policies(session, principal, entries, reason)

    return apply_then_redirect(
        request, change, "/complaints/settings?done=notice.sla_policies_saved", _settings_page
    )


@router.post("/complaints/settings/templates/{kind}/{language}")
def save_reply_template(
    request: Request,
    kind: str,
    language: str,
    subject: str = Form(""),
    body: str = Form(""),
    principal: Principal = Depends(require(CONFIGURE)),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: reply_templates.save_template(s, principal, kind, language, subject, body),
        "/complaints/settings?done=notice.reply_template_saved",
        _settings_page,
        editing={"kind": kind, "language": language, "subject": subject, "body": body},
    )


@router.post("/complaints/settings/templates/{kind}/{language}/reset")
def reset_reply_template(
    request: Request,
    kind: str,
    language: str,
    principal: Principal = Depends(require(CONFIGURE)),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: reply_templates.reset_template(s, principal, kind, language),
        "/complaints/settings?done=notice.reply_template_reset",
        _settings_page,
    )


@router.post("/complaints/settings/days")
def add_company_day(
    request: Request,
    day: str = Form(""),
    kind: str = Form(""),
    label: str = Form(""),
    principal: Principal = Depends(require(CONFIGURE)),
) -> Response:
    """Put a company closure or extra working day on the calendar of deadlines."""
    return apply_then_redirect(
        request,
        lambda s: sla_service.add_company_day(s, principal, day, kind, label),
        "/complaints/settings?done=notice.company_day_added#company-days",
        _settings_page,
        day_form={"day": day, "kind": kind, "label": label},
    )


@router.post("/complaints/settings/days/{day}/remove")
def remove_company_day(
    request: Request, day: str, principal: Principal = Depends(require(CONFIGURE))
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: sla_service.remove_company_day(s, principal, day),
        "/complaints/settings?done=notice.company_day_removed#company-days",
        _settings_page,
    )
