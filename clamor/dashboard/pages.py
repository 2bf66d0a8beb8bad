"""The dashboard: the plan's risks, process steps, resources and groups, recent activity; for
the leadership group (and admins) its panel — open level I–II incidents, review reports awaiting
acceptance, statements awaiting the GM's approval, overdue tasks — and the response-time
metrics for whoever reads incidents."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.i18n import action_label
from clamor.core.principal import Principal
from clamor.org import service as org
from clamor.org.models import Membership, Person
from clamor.web.deps import app_state, request_language, require
from clamor.web.render import render
from clamor.workflow.incidents import service as incidents
from clamor.workflow.incidents.models import Incident, IncidentTask

router = APIRouter(include_in_schema=False)

RISKS = ("product_quality", "service_attitude", "data_privacy", "social_responsibility")
PROCESS_STEPS = ("identify", "assess", "instruct", "respond", "support", "review")
RESOURCES = ("tools", "channels", "legal", "training")


def my_tasks(
    session: Session, user_id: int, limit: int = 20
) -> list[tuple[IncidentTask, Incident]]:
    """Open incident tasks for this person: given to them, or to one of their groups with nobody
    named; soonest due first."""
    my_groups = (
        select(Membership.group_id)
        .join(Person, Person.id == Membership.person_id)
        .where(Person.user_id == user_id)
    )
    query = (
        select(IncidentTask, Incident)
        .join(Incident, Incident.id == IncidentTask.incident_id)
        .where(
            IncidentTask.state.in_(("open", "acknowledged")),
            or_(
                IncidentTask.assignee_user_id == user_id,
                and_(
                    IncidentTask.assignee_user_id.is_(None),
                    IncidentTask.group_id.in_(my_groups),
                ),
            ),
        )
        .order_by(IncidentTask.due_at, IncidentTask.id)
        .limit(limit)
    )
    return [(task, incident) for task, incident in session.execute(query)]


@router.get("/")
def dashboard(
    request: Request, principal: Principal = Depends(require("dashboard.read"))
) -> Response:
    with app_state(request).db.read() as session:
        view = org.load_org(session)
        recent = (
            audit.search(session, audit.AuditFilter(), 10) if principal.can("audit.read") else []
        )
        panel = (
            incidents.leadership_panel(session, clock.now())
            if principal.can("dashboard.leadership")
            else None
        )
        metrics = incidents.metrics(session) if principal.can("incidents.read") else None
        tasks = (
            my_tasks(session, principal.user_id)
            if principal.user_id is not None and principal.can("incidents.read")
            else None
        )
    return render(
        request,
        "dashboard/dashboard.html",
        view=view,
        risks=RISKS,
        steps=PROCESS_STEPS,
        resources=RESOURCES,
        recent=recent,
        panel=panel,
        metrics=metrics,
        tasks=tasks,
        now=clock.now(),
        is_overdue=incidents.is_overdue,
        metric_steps=incidents.METRIC_STEPS,
        can_read_incidents=principal.can("incidents.read"),
        action_label=lambda action: action_label(action, request_language(request)),
    )
