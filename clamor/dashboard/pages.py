"""The dashboard: the plan's risks, process steps, resources and groups, recent activity; for
the leadership group (and admins) its panel — open level I–II incidents, review reports awaiting
acceptance, statements awaiting the GM's approval, overdue tasks — and the response-time
metrics for whoever reads incidents."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clamor.audit import service as audit
from clamor.core import clock
from clamor.core.principal import Principal
from clamor.org import service as org
from clamor.web.deps import app_state, require
from clamor.web.render import render
from clamor.workflow.incidents import service as incidents

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
        panel = (
            incidents.leadership_panel(session, clock.now())
            if principal.can("dashboard.leadership")
            else None
        )
        metrics = incidents.metrics(session) if principal.can("incidents.read") else None
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
        metric_steps=incidents.METRIC_STEPS,
        can_read_incidents=principal.can("incidents.read"),
    )
