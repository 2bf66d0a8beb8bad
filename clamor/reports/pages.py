"""The review report of an incident, downloaded as HTML, PDF or DOCX; the quarterly summary of
response times (HTML, CSV with BOM, XLSX); the briefings kept by the scheduler."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clamor.core import clock
from clamor.core.clock import LOCAL_ZONE
from clamor.core.errors import NotFoundError, ValidationError
from clamor.core.principal import Principal
from clamor.reports import briefing, briefing_doc, quarterly, review
from clamor.reports.models import BriefingRecord
from clamor.web.deps import app_state, request_language, require, require_any
from clamor.web.render import render
from clamor.workflow.incidents import service as incidents
from clamor.workflow.incidents.metrics import ALL, STEPS, Quarter, quarter_of

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
        raise ValidationError.keyed("error.reports.review_format", field="format")
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


# --- the quarterly summary ----------------------------------------------------------------------

SUMMARY_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _quarter(year: str, quarter: str) -> Quarter:
    if not year and not quarter:
        return quarter_of(clock.now())
    if not year.isdigit():
        raise ValidationError.keyed("error.reports.bad_year", field="year")
    if quarter not in ("1", "2", "3", "4"):
        raise ValidationError.keyed("error.reports.bad_quarter", field="quarter")
    try:
        return Quarter(int(year), int(quarter))
    except ValueError:  # the quarter is checked above: only the year can be out of range
        raise ValidationError.keyed("error.reports.year_out_of_range", field="year") from None


@router.get("/incidents/summary")
def summary_page(
    request: Request,
    year: str = "",
    quarter: str = "",
    principal: Principal = Depends(require("incidents.read")),
) -> Response:
    chosen = _quarter(year, quarter)
    with app_state(request).db.read() as session:
        summary = incidents.quarterly_summary(session, chosen)
    return render(
        request,
        "reports/summary.html",
        summary=summary,
        quarter=chosen,
        previous=chosen.previous(),
        following=chosen.next(),
        steps=STEPS,
        all_marker=ALL,
    )


@router.get("/incidents/summary.{fmt}")
def summary_export(
    request: Request,
    fmt: str,
    year: str = "",
    quarter: str = "",
    principal: Principal = Depends(require("incidents.read")),
) -> Response:
    if fmt not in SUMMARY_TYPES:
        raise ValidationError.keyed("error.reports.summary_format", field="format")
    chosen = _quarter(year, quarter)
    language = request_language(request)
    with app_state(request).db.read() as session:
        summary = incidents.quarterly_summary(session, chosen)
    body = (
        quarterly.to_csv(summary, language)
        if fmt == "csv"
        else quarterly.to_xlsx(summary, language)
    )
    name = f"clamor-summary-{chosen.label}.{fmt}"
    return Response(
        body,
        media_type=SUMMARY_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- briefings --------------------------------------------------------------------------------


@router.get("/briefings")
def briefings_page(
    request: Request,
    principal: Principal = Depends(require_any("dashboard.leadership", "monitoring.read")),
) -> Response:
    """The daily and weekly briefings the scheduler generated, newest first: for the leadership
    group they are written for, and the monitoring group that writes them."""
    with app_state(request).db.read() as session:
        kept = briefing.kept(session)
    return render(request, "reports/briefings.html", kept=kept)


BRIEFING_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BRIEFING_READERS = ("dashboard.leadership", "monitoring.read")


def _kept_briefing(request: Request, briefing_id: int) -> BriefingRecord:
    with app_state(request).db.read() as session:
        record = session.get(BriefingRecord, briefing_id)
        if record is None:
            raise NotFoundError.keyed("error.reports.no_briefing", id=briefing_id)
        session.expunge(record)
    return record


@router.get("/briefings/{briefing_id:int}")
def briefing_page(
    request: Request,
    briefing_id: int,
    principal: Principal = Depends(require_any(*BRIEFING_READERS)),
) -> Response:
    """One kept briefing in the reader's language; every number opens its posts."""
    record = _kept_briefing(request, briefing_id)
    doc = briefing_doc.layout(record, request_language(request))
    trend = (record.figures.get("opinion") or {}).get("trend")
    return render(request, "reports/briefing.html", doc=doc, record=record, trend=trend)


@router.get("/briefings/{briefing_id:int}.{fmt}")
def briefing_export(
    request: Request,
    briefing_id: int,
    fmt: str,
    principal: Principal = Depends(require_any(*BRIEFING_READERS)),
) -> Response:
    if fmt not in BRIEFING_TYPES:
        raise NotFoundError.keyed("error.reports.briefing_format", fmt=fmt)
    record = _kept_briefing(request, briefing_id)
    # Absolute links: a downloaded file has no site to be relative to.
    base = str(request.base_url).rstrip("/")
    doc = briefing_doc.layout(record, request_language(request), base)
    body = briefing_doc.to_pdf(doc) if fmt == "pdf" else briefing_doc.to_xlsx(doc)
    day = record.period_start.astimezone(LOCAL_ZONE).date().isoformat()
    name = f"clamor-briefing-{record.period}-{day}.{fmt}"
    return Response(
        body,
        media_type=BRIEFING_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
