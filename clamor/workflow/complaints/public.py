"""The public side: a complaint form (no login, zh/en, honeypot, per-address rate limit,
attachment limits) that answers with a tracking code, and a status page that shows progress only
to someone with both the code and the contact given at submission."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from clamor.core.errors import ClamorError, RateLimited, ValidationError
from clamor.intake.connectors.base import AttachmentIn
from clamor.intake.connectors.webform import MAX_FORM_BYTES, complaint_from_form, is_bot
from clamor.storage.ratelimit import SharedRateLimiter
from clamor.web.deps import app_state, client_ip, request_language
from clamor.web.render import render
from clamor.workflow.complaints import service
from clamor.workflow.complaints.api import PayloadTooLarge
from clamor.workflow.complaints.channels import channel_actor, queue_acknowledgement, send_outbox

router = APIRouter(include_in_schema=False)
FORM_FIELDS = ("title", "text", "name", "phone", "email")


def _limiter(request: Request, kind: str = "form") -> SharedRateLimiter:
    """Per-address limits, counted in the database so that every web process shares them: the
    form's setting for submissions, three times it for look-ups (enough for people, too few to
    guess codes and contacts)."""
    state = request.app.state
    name = f"complaint_{kind}_limiter"
    if not hasattr(state, name):
        clamor = app_state(request)
        limit = clamor.settings.complaint_form_limit_per_hour
        limit = limit if kind == "form" else 3 * limit
        setattr(state, name, SharedRateLimiter(clamor.db, f"complaint_{kind}", limit))
    return getattr(state, name)


def _check_rate(request: Request, kind: str = "form") -> None:
    """Count this request against the address's limit; RateLimited (429, Retry-After) naming
    the limit and when to try again (the page says it in the visitor's language)."""
    refusal = _limiter(request, kind).hit(client_ip(request))
    if refusal is None:
        return
    minutes = max(1, -(-refusal.retry_after // 60))
    raise RateLimited.keyed_after(
        f"complaints.public_rate_limited_{kind}",
        refusal.retry_after,
        limit=refusal.limit,
        minutes=minutes,
    )


def _form_page(
    request: Request, values: dict[str, str], error: ClamorError | None = None
) -> Response:
    return render(
        request,
        "complaints/public_form.html",
        status_code=error.status_code if error else 200,
        values=values,
        error=error,
        submission_id=values.get("submission_id") or uuid.uuid4().hex,
        max_mb=app_state(request).settings.complaint_attachment_max_bytes // 1_000_000,
    )


@router.get("/complain")
def complaint_form(request: Request) -> Response:
    return _form_page(request, {})


async def _attachments(files: list[UploadFile], max_bytes: int) -> list[AttachmentIn]:
    found = []
    for upload in files:
        if not upload.filename:
            continue
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ValidationError.keyed(
                "error.complaints.attachment_too_large",
                field="attachments",
                filename=upload.filename,
                mb=max_bytes // 1_000_000,
            )
        found.append(AttachmentIn(upload.filename, upload.content_type or "", data))
    return found


@router.post("/complain")
async def submit_complaint(request: Request) -> Response:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise PayloadTooLarge.keyed(
            "error.complaints.form_too_large", mb=MAX_FORM_BYTES // 1_000_000
        )
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in (*FORM_FIELDS, "submission_id", "website")}
    if is_bot(values):
        return render(request, "complaints/public_done.html", code=None)
    state = app_state(request)
    try:
        _check_rate(request)
        files = [f for f in form.getlist("attachments") if isinstance(f, UploadFile)]
        attachments = await _attachments(files, state.settings.complaint_attachment_max_bytes)
        complaint = complaint_from_form(values, attachments, request_language(request))
        if not (complaint.phone or complaint.email):
            raise ValidationError.keyed("error.complaints.contact_needed", field="contact")
        with state.db.write() as session:
            (outcome,) = service.submit(session, channel_actor("webform"), [complaint])
            ack = queue_acknowledgement(session, state.settings, outcome.case)
            code = outcome.case.tracking_code
    except ClamorError as error:
        if error.status_code == 429:
            raise
        return _form_page(request, values, error)
    if ack is not None:
        send_outbox(state.db, state.settings, [ack.id])
    return render(request, "complaints/public_done.html", code=code)


@router.get("/complain/status")
def status_form(request: Request) -> Response:
    return render(request, "complaints/public_status.html", case=None, looked_up=False, code="")


@router.post("/complain/status")
async def status_lookup(request: Request) -> Response:
    """Unknown code and wrong contact give the same page: nothing tells them apart."""
    form = await request.form()
    code, contact = str(form.get("code", "")), str(form.get("contact", ""))
    state = app_state(request)
    _check_rate(request, "status")
    try:
        with state.db.read() as session:
            case = service.public_lookup(session, code, contact)
            events = service.public_events(session, case) if case else []
    except ValidationError as error:
        return render(
            request,
            "complaints/public_status.html",
            status_code=422,
            case=None,
            looked_up=False,
            code=code,
            error=error,
        )
    return render(
        request,
        "complaints/public_status.html",
        case=case,
        events=events,
        looked_up=True,
        code=code,
    )
