"""JSON routes of incidents: list, open (by hand, from complaints, from an alert), one incident
with its tasks and statements, lifecycle actions and instructions."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Request

from clamor.core import clock
from clamor.core.principal import Principal
from clamor.web.deps import app_state, require
from clamor.workflow.incidents import service
from clamor.workflow.incidents.models import Incident
from clamor.workflow.incidents.opinion import opinion_series
from clamor.workflow.incidents.schemas import (
    ActionIn,
    AlertIncidentCreate,
    IncidentCreate,
    IncidentDetail,
    IncidentRead,
    InstructIn,
    StatementRead,
    TaskRead,
)

router = APIRouter(prefix="/api/v1", tags=["incidents"])
READ, REPORT = "incidents.read", "incidents.report"


def _detail(request: Request, principal: Principal, incident_id: int) -> IncidentDetail:
    with app_state(request).db.read() as session:
        incident = service.get(session, incident_id)
        return IncidentDetail(
            **IncidentRead.model_validate(incident).model_dump(),
            allowed_actions=list(service.actions_for(principal, incident)),
            tasks=[TaskRead.model_validate(t) for t in service.tasks_of(session, incident_id)],
            statements=[
                StatementRead.model_validate(s) for s in service.statements_of(session, incident_id)
            ],
            complaint_ids=[c.id for c in service.linked_cases(session, incident_id)],
        )


@router.get("/incidents", response_model=list[IncidentRead])
def list_incidents(
    request: Request,
    state: str | None = None,
    drills: bool = False,
    principal: Principal = Depends(require(READ)),
) -> list[Incident]:
    with app_state(request).db.read() as session:
        return service.list_incidents(session, state=state, drills=drills)


@router.post("/incidents", response_model=IncidentDetail, status_code=201)
def open_incident(
    request: Request, body: IncidentCreate, principal: Principal = Depends(require(REPORT))
) -> IncidentDetail:
    with app_state(request).db.write() as session:
        incident = service.open_incident(
            session,
            principal,
            title=body.title,
            summary=body.summary,
            category=body.category,
            complaint_ids=body.complaint_ids,
            is_drill=body.drill,
        )
        incident_id = incident.id
    return _detail(request, principal, incident_id)


@router.post("/incidents/from-alert", response_model=IncidentDetail, status_code=201)
def open_from_alert(
    request: Request, body: AlertIncidentCreate, principal: Principal = Depends(require(REPORT))
) -> IncidentDetail:
    with app_state(request).db.write() as session:
        incident = service.open_from_alert(
            session,
            principal,
            body.alert_id,
            body.title,
            body.summary,
            body.category,
            body.suggested_level,
            body.reasons,
        )
        incident_id = incident.id
    return _detail(request, principal, incident_id)


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
def get_incident(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> IncidentDetail:
    return _detail(request, principal, incident_id)


@router.get("/incidents/{incident_id}/opinion")
def opinion(
    request: Request, incident_id: int, principal: Principal = Depends(require(READ))
) -> dict[str, object]:
    """Posts per hour by sentiment around the incident, and its main topics (live chart)."""
    with app_state(request).db.read() as session:
        series = opinion_series(session, service.get(session, incident_id), clock.now())
    return asdict(series)


@router.post("/incidents/{incident_id}/actions", response_model=IncidentDetail)
def act(
    request: Request,
    incident_id: int,
    body: ActionIn,
    principal: Principal = Depends(require(READ)),
) -> IncidentDetail:
    with app_state(request).db.write() as session:
        service.act(session, principal, incident_id, body.action, body.fields)
    return _detail(request, principal, incident_id)


@router.post("/incidents/{incident_id}/instructions", response_model=IncidentDetail)
def instruct(
    request: Request,
    incident_id: int,
    body: InstructIn,
    principal: Principal = Depends(require(READ)),
) -> IncidentDetail:
    with app_state(request).db.write() as session:
        if body.playbook:
            service.instruct_from_playbook(session, principal, incident_id, principal.language)
        else:
            specs = [
                service.TaskSpec(t.type, t.title, t.group, t.hours, t.assignee, t.detail)
                for t in body.tasks
            ]
            service.instruct(session, principal, incident_id, specs)
    return _detail(request, principal, incident_id)
