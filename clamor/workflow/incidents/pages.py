"""Incident pages: the list (with the leadership group's levels I–II and the metrics), opening
an incident, the incident page (assessment beside the data's suggestion, tasks, support
requests, statements with versions and diffs, the review report and improvement actions),
the review report as HTML / PDF / DOCX, and the playbooks admins edit. Handlers are thin: the
rules live in `service`. Every form post is typed `Form` parameters (or a small form model)
and one `apply_then_redirect`: the change in one transaction, then back to the page; a refusal
shows the page again with the message and the status (403, 404, 409, 422), nothing changed."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from clamor.accounts.models import User
from clamor.core import clock
from clamor.core.errors import ValidationError
from clamor.core.principal import Principal
from clamor.org.models import Group
from clamor.web.deps import app_state, error_text, request_language, require
from clamor.web.forms import apply_then_redirect
from clamor.web.render import render
from clamor.workflow.incidents import service
from clamor.workflow.incidents.assessment import SCALES, Dimension, Level
from clamor.workflow.incidents.models import ImprovementAction, Incident
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


def _ids(text: str, field: str) -> list[int]:
    parts = [p for p in text.replace("，", ",").replace(" ", ",").split(",") if p]
    if not all(p.isdigit() for p in parts):
        raise ValidationError.keyed("error.incidents.case_ids_format", field=field)
    return [int(p) for p in parts]


def _back(incident_id: int, anchor: str = "") -> str:
    return f"/incidents/{incident_id}?done=notice.incident_updated{anchor}"


def _opened(incident: Any) -> str:
    return f"/incidents/{incident.id}?done=notice.incident_opened"


def _number(text: str, field: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValidationError.keyed("error.incidents.not_a_number", field=field) from None


class ActionForm(BaseModel):
    """An incident transition: the action and whatever fields it needs (see `service.act`)."""

    action: str = ""
    summary: str = ""
    category: str = ""
    severity: str = ""
    scope: str = ""
    risk: str = ""
    level: str = ""
    level_reason: str = ""
    resolution_summary: str = ""
    comments: str = ""
    uncontacted_reason: str = ""
    reason: str = ""
    target_incident: str = ""

    def fields(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in ACTION_FIELDS if getattr(self, name)}


class TaskForm(BaseModel):
    """One instruction, or (with `playbook`) the playbook's tasks."""

    playbook: str = ""
    task_type: str = ""
    title: str = ""
    group: str = ""
    hours: str = ""
    assignee: str = ""
    detail: str = ""


class ImprovementForm(BaseModel):
    text: str = ""
    owner: str = ""
    due_on: str = ""


class ReviewForm(BaseModel):
    summary: str = ""
    causes: str = ""
    improvements: str = ""


# --- the list ---------------------------------------------------------------------------------


def _list_page(
    request: Request,
    principal: Principal,
    *,
    state: str = "",
    drills: bool = False,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """`form`: what was typed into the open-incident form, shown again after a refusal."""
    with app_state(request).db.read() as session:
        incidents = service.list_incidents(session, state=state or None, drills=drills)
        watch = service.leadership_watch(session)
        metrics = service.metrics(session, drills=drills)
    return render(
        request,
        "incidents/list.html",
        status_code=status_code,
        error=error,
        form=form or {},
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


@router.get("/incidents")
def incident_list(
    request: Request,
    state: str = "",
    drills: bool = False,
    principal: Principal = Depends(require(READ)),
) -> Response:
    known = {s.value for s in IncidentState}
    if state and state not in known:
        # An unknown filter would silently show an empty list: say so, and show them all.
        refusal = ValidationError.keyed(
            "error.incidents.unknown_state_filter",
            field="state",
            state=repr(state),
            known=", ".join(sorted(known)),
        )
        message = error_text(request, refusal)
        return _list_page(request, principal, drills=drills, status_code=422, error=message)
    return _list_page(request, principal, state=state, drills=drills)


@router.post("/incidents")
def open_incident(
    request: Request,
    title: str = Form(""),
    summary: str = Form(""),
    category: str = Form(""),
    complaint_ids: str = Form(""),
    drill: str = Form(""),
    principal: Principal = Depends(require("incidents.report")),
) -> Response:
    typed = {
        "title": title,
        "summary": summary,
        "category": category,
        "complaint_ids": complaint_ids,
        "drill": drill,
    }
    return apply_then_redirect(
        request,
        lambda s: service.open_incident(
            s,
            principal,
            title=title,
            summary=summary,
            category=category,
            complaint_ids=_ids(complaint_ids, "complaint_ids"),
            is_drill=bool(drill),
        ),
        _opened,
        _list_page,
        principal=principal,
        form=typed,
    )


@router.post("/incidents/from-alert")
def open_from_alert(
    request: Request,
    alert_id: str = Form(""),
    principal: Principal = Depends(require("incidents.report")),
) -> Response:
    """One click from a monitoring alert (form field `alert_id`); the same alert twice opens
    the incident already opened for it. Lands on the incident."""
    alert_id = alert_id.strip()
    if not alert_id.isdigit():
        raise ValidationError.keyed("error.incidents.alert_id_not_number", field="alert_id")

    def change(session: Session) -> Any:
        fields = alert_incident_fields(session, int(alert_id))
        return service.open_from_alert(
            session,
            principal,
            fields["alert_id"],
            fields["title"],
            fields["summary"],
            fields["category"],
            fields["suggested_level"],
            fields["reasons"],
        )

    return apply_then_redirect(request, change, _opened, _list_page, principal=principal)


# --- the incident page ------------------------------------------------------------------------


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


def _incident_page(
    request: Request,
    principal: Principal,
    incident_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """`form`: what was typed into the refused form (statement, review, support, task), shown
    again so that nothing typed is lost."""
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
        status_code=status_code,
        error=error,
        form=form or {},
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


def _refused(
    request: Request,
    *,
    principal: Principal,
    status_code: int,
    error: str,
    incident_id: int | None = None,
    task_id: int | None = None,
    statement_id: int | None = None,
    action_id: int | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The incident page again with the refusal's message and status (nothing was changed)."""
    with app_state(request).db.read() as session:
        if incident_id is None and task_id is not None:
            incident_id = service.get_task(session, task_id).incident_id
        if incident_id is None and statement_id is not None:
            incident_id = service.get_statement(session, statement_id).incident_id
        if incident_id is None and action_id is not None:
            action = session.get(ImprovementAction, action_id)
            incident_id = action.incident_id if action is not None else None
    if incident_id is None or not _exists(request, incident_id):
        return render(request, "error.html", status_code=status_code, message=error)
    return _incident_page(
        request, principal, incident_id, status_code=status_code, error=error, form=form
    )


def _exists(request: Request, incident_id: int) -> bool:
    with app_state(request).db.read() as session:
        return session.get(Incident, incident_id) is not None


@router.get("/incidents/{incident_id:int}")
def incident_page(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    return _incident_page(request, principal, incident_id)


@router.post("/incidents/{incident_id:int}/act")
def act(
    request: Request,
    incident_id: int,
    form: Annotated[ActionForm, Form()],
    principal: Principal = Depends(require(READ)),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.act(s, principal, incident_id, form.action, form.fields()),
        _back(incident_id),
        _refused,
        principal=principal,
        incident_id=incident_id,
    )


@router.post("/incidents/{incident_id:int}/link")
def link(
    request: Request,
    incident_id: int,
    complaint_ids: str = Form(""),
    principal: Principal = Depends(require(READ)),
) -> Response:
    ids = _ids(complaint_ids, "complaint_ids")
    return apply_then_redirect(
        request,
        lambda s: service.link_complaints(s, principal, incident_id, ids),
        _back(incident_id),
        _refused,
        principal=principal,
        incident_id=incident_id,
    )


@router.post("/incidents/{incident_id:int}/contact")
def log_contact(
    request: Request,
    incident_id: int,
    case_id: str = Form(""),
    kind: str = Form(""),
    body: str = Form(""),
    principal: Principal = Depends(require(READ)),
) -> Response:
    """Customer communication across the linked complaints, logged on the complaint case."""
    from clamor.workflow.complaints import service as complaints

    if not case_id.isdigit():
        raise ValidationError.keyed("error.incidents.choose_case", field="case_id")

    def change(session: Session) -> object:
        linked = {c.id for c in service.linked_cases(session, incident_id)}
        if int(case_id) not in linked:
            raise ValidationError.keyed("error.incidents.case_not_linked", field="case_id")
        return complaints.add_communication(
            session, principal, int(case_id), kind=kind or "call", direction="out", body=body
        )

    return apply_then_redirect(
        request, change, _back(incident_id), _refused, principal=principal, incident_id=incident_id
    )


@router.post("/incidents/{incident_id:int}/instruct")
def instruct(
    request: Request,
    incident_id: int,
    form: Annotated[TaskForm, Form()],
    principal: Principal = Depends(require(READ)),
) -> Response:
    language = request_language(request)

    def change(session: Session) -> object:
        if form.playbook:
            return service.instruct_from_playbook(session, principal, incident_id, language)
        spec = service.TaskSpec(
            task_type=form.task_type,
            title=form.title,
            group=form.group,
            hours=_number(form.hours, "tasks[0].hours"),
            assignee=form.assignee or None,
            detail=form.detail,
        )
        return service.instruct(session, principal, incident_id, [spec])

    return apply_then_redirect(
        request,
        change,
        _back(incident_id, "#tasks"),
        _refused,
        principal=principal,
        incident_id=incident_id,
        form={} if form.playbook else {f"task_{k}": v for k, v in form.model_dump().items()},
    )


@router.post("/incidents/{incident_id:int}/support")
def support(
    request: Request,
    incident_id: int,
    kind: str = Form(""),
    title: str = Form(""),
    detail: str = Form(""),
    hours: str = Form(""),
    principal: Principal = Depends(require(READ)),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.request_support(
            s,
            principal,
            incident_id,
            kind=kind,
            title=title,
            detail=detail,
            hours=_number(hours, "hours"),
        ),
        _back(incident_id, "#tasks"),
        _refused,
        principal=principal,
        incident_id=incident_id,
        form={
            "support_kind": kind,
            "support_title": title,
            "support_detail": detail,
            "support_hours": hours,
        },
    )


@router.post("/incidents/tasks/{task_id:int}/act")
def task_act(
    request: Request,
    task_id: int,
    action: str = Form(""),
    result: str = Form(""),
    reason: str = Form(""),
    assignee_user: str = Form(""),
    principal: Principal = Depends(require(READ)),
) -> Response:
    given = {"result": result, "reason": reason, "assignee_user": assignee_user}
    fields = {name: value for name, value in given.items() if value}
    return apply_then_redirect(
        request,
        lambda s: service.task_act(s, principal, task_id, action, fields),
        lambda task: _back(task.incident_id, "#tasks"),
        _refused,
        principal=principal,
        task_id=task_id,
    )


@router.post("/incidents/{incident_id:int}/statements")
def draft_statement(
    request: Request,
    incident_id: int,
    title: str = Form(""),
    text: str = Form(""),
    principal: Principal = Depends(require(READ)),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.draft_statement(s, principal, incident_id, title=title, text=text),
        _back(incident_id, "#statements"),
        _refused,
        principal=principal,
        incident_id=incident_id,
        form={"statement_title": title, "statement_text": text},
    )


@router.post("/incidents/statements/{statement_id:int}/edit")
def edit_statement(
    request: Request,
    statement_id: int,
    text: str = Form(""),
    principal: Principal = Depends(require(READ)),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.edit_statement(s, principal, statement_id, text),
        lambda statement: _back(statement.incident_id, "#statements"),
        _refused,
        principal=principal,
        statement_id=statement_id,
        form={f"edit_{statement_id}": text},
    )


@router.post("/incidents/statements/{statement_id:int}/act")
def statement_act(
    request: Request,
    statement_id: int,
    action: str = Form(""),
    comments: str = Form(""),
    principal: Principal = Depends(require(READ)),
) -> Response:
    fields = {"comments": comments} if comments else {}
    return apply_then_redirect(
        request,
        lambda s: service.statement_act(s, principal, statement_id, action, fields),
        lambda statement: _back(statement.incident_id, "#statements"),
        _refused,
        principal=principal,
        statement_id=statement_id,
    )


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
def save_review(
    request: Request,
    incident_id: int,
    form: Annotated[ReviewForm, Form()],
    principal: Principal = Depends(require(READ)),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.save_review(
            s,
            principal,
            incident_id,
            summary=form.summary,
            causes=form.causes,
            improvements=form.improvements,
        ),
        _back(incident_id, "#review"),
        _refused,
        principal=principal,
        incident_id=incident_id,
        form={f"review_{k}": v for k, v in form.model_dump().items()},
    )


@router.post("/incidents/{incident_id:int}/improvements")
def add_improvement(
    request: Request,
    incident_id: int,
    form: Annotated[ImprovementForm, Form()],
    principal: Principal = Depends(require(READ)),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.add_improvement(
            s, principal, incident_id, text=form.text, owner=form.owner, due_on=form.due_on
        ),
        _back(incident_id, "#review"),
        _refused,
        principal=principal,
        incident_id=incident_id,
        form={f"improvement_{k}": v for k, v in form.model_dump().items()},
    )


@router.post("/incidents/improvements/{action_id:int}/done")
def improvement_done(
    request: Request, action_id: int, principal: Principal = Depends(require(READ))
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.complete_improvement(s, principal, action_id),
        lambda action: _back(action.incident_id, "#review"),
        _refused,
        principal=principal,
        action_id=action_id,
    )


# --- playbooks ----------------------------------------------------------------------------------


def _playbooks_page(
    request: Request, *, status_code: int = 200, error: str | None = None, source: str = ""
) -> Response:
    with app_state(request).db.read() as session:
        stored = service.stored_playbooks(session)
        effective = [playbook_to_data(p) for p in service.all_playbooks(session)]
    example = yaml.safe_dump(effective[0], allow_unicode=True, sort_keys=False)
    return render(
        request,
        "incidents/playbooks.html",
        status_code=status_code,
        error=error,
        source=source,
        stored=stored,
        effective=effective,
        example=example,
        dump=lambda data: yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
    )


@router.get("/incidents/playbooks")
def playbooks_page(
    request: Request, principal: Principal = Depends(require("settings.manage"))
) -> Response:
    return _playbooks_page(request)


def _playbook_data(source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(source) if source.strip() else None
    except yaml.YAMLError as error:
        raise ValidationError.keyed(
            "error.incidents.playbook_not_yaml", field="data", detail=str(error)
        ) from None
    if not isinstance(data, dict):
        raise ValidationError.keyed("error.incidents.playbook_not_mapping", field="data")
    return data


@router.post("/incidents/playbooks")
def save_playbook(
    request: Request,
    data: str = Form(""),
    principal: Principal = Depends(require("settings.manage")),
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.save_playbook(s, principal, _playbook_data(data)),
        "/incidents/playbooks?done=notice.playbook_saved",
        _playbooks_page,
        source=data,
    )


@router.post("/incidents/playbooks/{playbook_id:int}/delete")
def delete_playbook(
    request: Request, playbook_id: int, principal: Principal = Depends(require("settings.manage"))
) -> Response:
    return apply_then_redirect(
        request,
        lambda s: service.delete_playbook(s, principal, playbook_id),
        "/incidents/playbooks?done=notice.playbook_saved",
        _playbooks_page,
    )
