"""The review report of an incident, downloaded as HTML, PDF or DOCX."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clamor.core.errors import ValidationError
from clamor.core.principal import Principal
from clamor.reports import review
from clamor.web.deps import app_state, request_language, require

router = APIRouter(include_in_schema=False)
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@router.get("/incidents/{incident_id:int}/report.{fmt}")
def report(
    request: Request,
    incident_id: int,
    fmt: str,
    principal: Principal = Depends(require("incidents.read")),
) -> Response:
    if fmt not in MEDIA_TYPES:
        raise ValidationError("the report comes as html, pdf or docx", field="format")
    with app_state(request).db.read() as session:
        doc = review.build(session, incident_id, request_language(request))
    if fmt == "html":
        return Response(review.to_html(doc), media_type=MEDIA_TYPES[fmt])
    body = review.to_pdf(doc) if fmt == "pdf" else review.to_docx(doc)
    name = f"incident-{incident_id}-review.{fmt}"
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
