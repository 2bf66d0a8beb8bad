"""Dashboard, and the Complaints / Monitoring / Incidents pages as the plan defines their work:
the steps of plan §4 each owns and the group (with its people) responsible for them."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clamor.audit import service as audit
from clamor.core.principal import Principal
from clamor.org import service as org
from clamor.web.deps import app_state, require
from clamor.web.render import render

router = APIRouter(include_in_schema=False)

RISKS = ("product_quality", "service_attitude", "data_privacy", "social_responsibility")
PROCESS_STEPS = ("identify", "assess", "instruct", "respond", "support", "review")
RESOURCES = ("tools", "channels", "legal", "training")


@dataclass(frozen=True)
class PlanSection:
    key: str  # catalogue prefix
    group_kind: str  # the group the plan makes responsible
    steps: tuple[str, ...]  # the plan §4 steps this area carries


SECTIONS = {
    "complaints": PlanSection(
        "area.complaints", "complaint_handling", ("identify", "assess", "respond")
    ),
    "monitoring": PlanSection("area.monitoring", "opinion_monitoring", ("identify", "respond")),
    "incidents": PlanSection(
        "area.incidents", "leadership", ("assess", "instruct", "respond", "support", "review")
    ),
}


@router.get("/")
def dashboard(
    request: Request, principal: Principal = Depends(require("dashboard.read"))
) -> Response:
    with app_state(request).db.read() as session:
        view = org.load_org(session)
        recent = (
            audit.search(session, audit.AuditFilter(), 10) if principal.can("audit.read") else []
        )
    return render(
        request,
        "dashboard/dashboard.html",
        view=view,
        risks=RISKS,
        steps=PROCESS_STEPS,
        resources=RESOURCES,
        recent=recent,
    )


def _area(request: Request, area: str) -> Response:
    section = SECTIONS[area]
    with app_state(request).db.read() as session:
        view = org.load_org(session)
    groups = [group for group in view.groups if group.kind == section.group_kind]
    return render(
        request, "dashboard/area.html", section=section, groups=groups, steps=section.steps
    )


@router.get("/complaints")
def complaints(
    request: Request, principal: Principal = Depends(require("complaints.read"))
) -> Response:
    return _area(request, "complaints")


@router.get("/monitoring")
def monitoring(
    request: Request, principal: Principal = Depends(require("monitoring.read"))
) -> Response:
    return _area(request, "monitoring")


@router.get("/incidents")
def incidents(
    request: Request, principal: Principal = Depends(require("incidents.read"))
) -> Response:
    return _area(request, "incidents")
