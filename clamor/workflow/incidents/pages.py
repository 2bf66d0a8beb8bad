"""Incident pages: the list (with the leadership group's levels I–II and the metrics), opening
an incident, the incident page (assessment beside the data's suggestion, tasks, support
requests, statements with versions and diffs, the review report and improvement actions),
the review report as HTML / PDF / DOCX, and the playbooks admins edit. Handlers are thin: the
rules live in `service`."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from clamor.accounts.models import User
from clamor.core import clock
from clamor.core.errors import ValidationError
from clamor.core.principal import Principal
from clamor.org.models import Group
from clamor.web.deps import app_state, request_language, require
from clamor.web.render import render
from clamor.workflow.incidents import service
from clamor.workflow.incidents.assessment import SCALES, Dimension, Level
from clamor.workflow.incidents.opinion import alert_incident_fields
from clamor.workflow.incidents.playbooks import TaskType, playbook_to_data
from clamor.workflow.incidents.states import IncidentState
from clamor.workflow.vocabulary import RiskCategory

router = APIRouter(include_in_schema=False)
READ = "incidents.read"
ACTION_FIELDS = (
    "summary",
    "category",
    "severity",
    "scope",
    "risk",
    "level",
    "level_reason",
    "resolution_summary",
    "comments",
    "uncontacted_reason",
    "reason",
    "target_incident",
)


def _form_text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _ids(text: str, field: str) -> list[int]:
    parts = [p for p in text.replace("，", ",").replace(" ", ",").split(",") if p]
    if not all(p.isdigit() for p in parts):
        raise ValidationError(f"{field}: give case numbers separated by commas", field=field)
    return [int(p) for p in parts]


def _back(incident_id: int, anchor: str = "") -> Response:
    return RedirectResponse(
        f"/incidents/{incident_id}?done=notice.incident_updated{anchor}", status_code=303
    )


@router.get("/incidents")
def incident_list(
    request: Request,
    state: str = "",
    drills: bool = False,
    principal: Principal = Depends(require(READ)),
) -> Response:
    with app_state(request).db.read() as session:
        incidents = service.list_incidents(session, state=state or None, drills=drills)
        watch = service.leadership_watch(session)
        metrics = service.metrics(session, drills=drills)
    return render(
        request,
        "incidents/list.html",
        incidents=incidents,
        watch=watch,
        metrics=metrics,
        metric_steps=service.METRIC_STEPS,
        state=state,
        drills=drills,
        states=[s.value for s in IncidentState],
        categories=[c.value for c in RiskCategory],
        can_open=principal.can("incidents.report"),
        can_edit_playbooks=principal.can("settings.manage"),
    )


@router.post("/incidents")
async def open_incident(
    request: Request, principal: Principal = Depends(require("incidents.report"))
) -> Response:
    form = await request.form()
    with app_state(request).db.write() as session:
        incident = service.open_incident(
            session,
            principal,
            title=_form_text(form, "title"),
            summary=_form_text(form, "summary"),
            category=_form_text(form, "category"),
            complaint_ids=_ids(_form_text(form, "complaint_ids"), "complaint_ids"),
            is_drill=bool(form.get("drill")),
        )
        incident_id = incident.id
    return RedirectResponse(f"/incidents/{incident_id}?done=notice.incident_opened", 303)


@router.post("/incidents/from-alert")
async def open_from_alert(
    request: Request, principal: Principal = Depends(require("incidents.report"))
) -> Response:
    """One click from a monitoring alert (form field `alert_id`); the same alert twice opens
    the incident already opened for it."""
    form = await request.form()
    alert_id = _form_text(form, "alert_id").strip()
    if not alert_id.isdigit():
        raise ValidationError("alert_id must be an alert number", field="alert_id")
    with app_state(request).db.write() as session:
        fields = alert_incident_fields(session, int(alert_id))
        incident = service.open_from_alert(
            session,
            principal,
            fields["alert_id"],
            fields["title"],
            fields["summary"],
            fields["category"],
            fields["suggested_level"],
            fields["reasons"],
        )
        incident_id = incident.id
    return RedirectResponse(f"/incidents/{incident_id}?done=notice.incident_opened", 303)


def _people(session: Session) -> dict[str, Any]:
    groups = list(session.scalars(select(Group).order_by(Group.position, Group.id)))
    members = {g.key: sorted(service.member_usernames(session, g.id)) for g in groups}
    users = list(
        session.scalars(select(User.username).where(User.is_active.is_(True)).order_by(User.id))
    )
    return {"groups": groups, "members": members, "users": users}


def _proposal(request: Request) -> Any:
    q = request.query_params
    values = [q.get(d.value, "") for d in Dimension]
    if not all(v.isdigit() for v in values):
        return None
    try:
        return service.proposal(*(int(v) for v in values))
    except ValidationError:
        return None


@router.get("/incidents/{incident_id:int}")
def incident_page(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    language = request_language(request)
    with app_state(request).db.read() as session:
        rec = service.record(session, incident_id)
        incident = rec.incident
        versions = {s.id: service.versions_of(session, s.id) for s in rec.statements}
        context = {
            "rec": rec,
            "incident": incident,
            "actions": service.actions_for(principal, incident),
            "task_actions": {
                t.id: service.task_actions_for(session, principal, t) for t in rec.tasks
            },
            "statement_actions": {
                s.id: service.statement_actions_for(principal, incident, s) for s in rec.statements
            },
            "versions": versions,
            "playbook": service.playbook_for(session, incident),
            **_people(session),
        }
    proposal = _proposal(request)
    return render(
        request,
        "incidents/detail.html",
        now=clock.now(),
        proposal=proposal,
        query=request.query_params,
        scales=SCALES,
        dimensions=list(Dimension),
        levels=[lv.value for lv in Level],
        task_types=[t.value for t in TaskType],
        categories=[c.value for c in RiskCategory],
        is_overdue=service.is_overdue,
        language=language,
        can_draft=principal.can("statements.draft"),
        can_review=principal.can("incidents.review"),
        can_instruct=principal.can("incidents.instruct"),
        can_support=principal.can("incidents.respond") or principal.can("incidents.instruct"),
        can_link=principal.can("incidents.report"),
        can_log_contact=principal.can("complaints.handle"),
        **context,
    )


@router.post("/incidents/{incident_id:int}/act")
async def act(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    action = _form_text(form, "action")
    fields = {name: _form_text(form, name) for name in ACTION_FIELDS if form.get(name)}
    with app_state(request).db.write() as session:
        service.act(session, principal, incident_id, action, fields)
    return _back(incident_id)


@router.post("/incidents/{incident_id:int}/link")
async def link(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    ids = _ids(_form_text(form, "complaint_ids"), "complaint_ids")
    with app_state(request).db.write() as session:
        service.link_complaints(session, principal, incident_id, ids)
    return _back(incident_id)


@router.post("/incidents/{incident_id:int}/contact")
async def log_contact(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    """Customer communication across the linked complaints, logged on the complaint case."""
    from clamor.workflow.complaints import service as complaints

    form = await request.form()
    case_id = _form_text(form, "case_id")
    if not case_id.isdigit():
        raise ValidationError("choose the complaint case", field="case_id")
    with app_state(request).db.write() as session:
        linked = {c.id for c in service.linked_cases(session, incident_id)}
        if int(case_id) not in linked:
            raise ValidationError("that case is not linked to this incident", field="case_id")
        complaints.add_communication(
            session,
            principal,
            int(case_id),
            kind=_form_text(form, "kind") or "call",
            direction="out",
            body=_form_text(form, "body"),
        )
    return _back(incident_id)


@router.post("/incidents/{incident_id:int}/instruct")
async def instruct(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    with app_state(request).db.write() as session:
        if form.get("playbook"):
            service.instruct_from_playbook(
                session, principal, incident_id, request_language(request)
            )
        else:
            hours = _form_text(form, "hours")
            try:
                due = float(hours)
            except ValueError:
                raise ValidationError("hours must be a number", field="tasks[0].hours") from None
            spec = service.TaskSpec(
                task_type=_form_text(form, "task_type"),
                title=_form_text(form, "title"),
                group=_form_text(form, "group"),
                hours=due,
                assignee=_form_text(form, "assignee") or None,
                detail=_form_text(form, "detail"),
            )
            service.instruct(session, principal, incident_id, [spec])
    return _back(incident_id, "#tasks")


@router.post("/incidents/{incident_id:int}/support")
async def support(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    try:
        hours = float(_form_text(form, "hours"))
    except ValueError:
        raise ValidationError("hours must be a number", field="hours") from None
    with app_state(request).db.write() as session:
        service.request_support(
            session,
            principal,
            incident_id,
            kind=_form_text(form, "kind"),
            title=_form_text(form, "title"),
            detail=_form_text(form, "detail"),
            hours=hours,
        )
    return _back(incident_id, "#tasks")


@router.post("/incidents/tasks/{task_id:int}/act")
async def task_act(
    request: Request, task_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    fields = {n: _form_text(form, n) for n in ("result", "reason", "assignee_user") if form.get(n)}
    with app_state(request).db.write() as session:
        task = service.task_act(session, principal, task_id, _form_text(form, "action"), fields)
        incident_id = task.incident_id
    return _back(incident_id, "#tasks")


@router.post("/incidents/{incident_id:int}/statements")
async def draft_statement(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    with app_state(request).db.write() as session:
        service.draft_statement(
            session,
            principal,
            incident_id,
            title=_form_text(form, "title"),
            text=_form_text(form, "text"),
        )
    return _back(incident_id, "#statements")


@router.post("/incidents/statements/{statement_id:int}/edit")
async def edit_statement(
    request: Request, statement_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    with app_state(request).db.write() as session:
        statement = service.edit_statement(
            session, principal, statement_id, _form_text(form, "text")
        )
        incident_id = statement.incident_id
    return _back(incident_id, "#statements")


@router.post("/incidents/statements/{statement_id:int}/act")
async def statement_act(
    request: Request, statement_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    fields = {"comments": _form_text(form, "comments")} if form.get("comments") else {}
    with app_state(request).db.write() as session:
        statement = service.statement_act(
            session, principal, statement_id, _form_text(form, "action"), fields
        )
        incident_id = statement.incident_id
    return _back(incident_id, "#statements")


@router.get("/incidents/statements/{statement_id:int}/diff")
def statement_diff(
    request: Request,
    statement_id: int,
    old: int = 1,
    new: int = 2,
    principal: Principal = Depends(require(READ)),
) -> Response:
    with app_state(request).db.read() as session:
        statement = service.get_statement(session, statement_id)
        lines = service.statement_diff(session, statement_id, old, new)
    return render(
        request, "incidents/diff.html", statement=statement, lines=lines, old=old, new=new
    )


@router.post("/incidents/{incident_id:int}/review")
async def save_review(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    with app_state(request).db.write() as session:
        service.save_review(
            session,
            principal,
            incident_id,
            summary=_form_text(form, "summary"),
            causes=_form_text(form, "causes"),
            improvements=_form_text(form, "improvements"),
        )
    return _back(incident_id, "#review")


@router.post("/incidents/{incident_id:int}/improvements")
async def add_improvement(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    form = await request.form()
    with app_state(request).db.write() as session:
        service.add_improvement(
            session,
            principal,
            incident_id,
            text=_form_text(form, "text"),
            owner=_form_text(form, "owner"),
            due_on=_form_text(form, "due_on"),
        )
    return _back(incident_id, "#review")


@router.post("/incidents/improvements/{action_id:int}/done")
def improvement_done(
    request: Request, action_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    with app_state(request).db.write() as session:
        action = service.complete_improvement(session, principal, action_id)
        incident_id = action.incident_id
    return _back(incident_id, "#review")


# --- playbooks ----------------------------------------------------------------------------------


@router.get("/incidents/playbooks")
def playbooks_page(
    request: Request, principal: Principal = Depends(require("settings.manage"))
) -> Response:
    with app_state(request).db.read() as session:
        stored = service.stored_playbooks(session)
        effective = [playbook_to_data(p) for p in service.all_playbooks(session)]
    example = yaml.safe_dump(effective[0], allow_unicode=True, sort_keys=False)
    return render(
        request,
        "incidents/playbooks.html",
        stored=stored,
        effective=effective,
        example=example,
        dump=lambda data: yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
    )


@router.post("/incidents/playbooks")
async def save_playbook(
    request: Request, principal: Principal = Depends(require("settings.manage"))
) -> Response:
    form = await request.form()
    source = _form_text(form, "data")
    try:
        data = yaml.safe_load(source) if source.strip() else None
    except yaml.YAMLError as error:
        raise ValidationError(
            f"the playbook is not valid YAML/JSON: {error}", field="data"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError("a playbook is a mapping with name and tasks", field="data")
    with app_state(request).db.write() as session:
        service.save_playbook(session, principal, data)
    return RedirectResponse("/incidents/playbooks?done=notice.playbook_saved", status_code=303)


@router.post("/incidents/playbooks/{playbook_id:int}/delete")
def delete_playbook(
    request: Request, playbook_id: int, principal: Principal = Depends(require("settings.manage"))
) -> Response:
    with app_state(request).db.write() as session:
        service.delete_playbook(session, principal, playbook_id)
    return RedirectResponse("/incidents/playbooks?done=notice.playbook_saved", status_code=303)
