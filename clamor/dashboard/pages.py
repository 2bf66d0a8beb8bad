"""The dashboard: the plan's risks, process steps, resources and groups, and recent activity."""

from __future__ import annotations

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
