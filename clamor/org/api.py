"""JSON routes of the organisation."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request

from clamor.core.principal import Principal
from clamor.org import service as org
from clamor.web.deps import app_state, require

router = APIRouter(prefix="/api/v1", tags=["organisation"])


@router.get("/org")
def read_org(
    request: Request, principal: Principal = Depends(require("org.read"))
) -> dict[str, Any]:
    """The whole organisation in the same shape as `clamor org export`."""
    with app_state(request).db.read() as session:
        return asdict(org.export_document(session))
