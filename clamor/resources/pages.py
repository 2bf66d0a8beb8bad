"""The resources page (plan §5): tools, channels, legal contacts; training with attendance."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from clamor.accounts.models import User
from clamor.core.principal import Principal
from clamor.resources import service
from clamor.web.deps import app_state, require
from clamor.web.forms import apply_then_redirect
from clamor.web.render import render

router = APIRouter(include_in_schema=False)


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _page(
    request: Request,
    principal: Principal,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The page; after a refusal, with the message and what was typed (`form`) kept."""
    with app_state(request).db.read() as session:
        items = service.resources(session)
        sessions = service.trainings(session)
        attendance = {t.id: service.attendance(session, t.id) for t in sessions}
        users = list(
            session.scalars(select(User.username).where(User.is_active.is_(True)).order_by(User.id))
        )
    return render(
        request,
        "resources/resources.html",
        status_code=status_code,
        error=error,
        form=form or {},
        items=items,
        trainings=sessions,
        attendance=attendance,
        users=users,
        kinds=service.KINDS,
        topics=service.TOPICS,
        can_manage=principal.can(service.MANAGE),
    )


@router.get("/resources")
def resources_page(
    request: Request, principal: Principal = Depends(require("org.read"))
) -> Response:
    return _page(request, principal)


@router.post("/resources")
async def add_resource(
    request: Request, principal: Principal = Depends(require(service.MANAGE))
) -> Response:
    form = await request.form()
    typed = {f"resource_{n}": _text(form, n) for n in ("kind", "name", "detail", "contact", "url")}
    return apply_then_redirect(
        request,
        lambda session: service.add_resource(
            session,
            principal,
            kind=_text(form, "kind"),
            name=_text(form, "name"),
            detail=_text(form, "detail"),
            contact=_text(form, "contact"),
            url=_text(form, "url"),
        ),
        "/resources?done=notice.resources_saved",
        _page,
        principal=principal,
        form=typed,
    )


@router.post("/resources/{resource_id:int}/retire")
def retire(
    request: Request, resource_id: int, principal: Principal = Depends(require(service.MANAGE))
) -> Response:
    with app_state(request).db.write() as session:
        service.retire_resource(session, principal, resource_id)
    return RedirectResponse("/resources?done=notice.resources_saved", status_code=303)


@router.post("/resources/trainings")
async def add_training(
    request: Request, principal: Principal = Depends(require(service.MANAGE))
) -> Response:
    form = await request.form()
    names = ("title", "topic", "held_at", "trainer", "notes")
    typed = {f"training_{n}": _text(form, n) for n in names}
    return apply_then_redirect(
        request,
        lambda session: service.add_training(
            session,
            principal,
            title=_text(form, "title"),
            topic=_text(form, "topic"),
            held_at=_text(form, "held_at"),
            trainer=_text(form, "trainer"),
            notes=_text(form, "notes"),
        ),
        "/resources?done=notice.resources_saved#training",
        _page,
        principal=principal,
        form=typed,
    )


@router.post("/resources/trainings/{training_id:int}/attendance")
async def attendance(
    request: Request, training_id: int, principal: Principal = Depends(require(service.MANAGE))
) -> Response:
    form = await request.form()
    present = [str(v) for v in form.getlist("present")]
    expected = [str(v) for v in form.getlist("expected")]
    with app_state(request).db.write() as session:
        service.record_attendance(
            session, principal, training_id, present, [u for u in expected if u not in present]
        )
    return RedirectResponse("/resources?done=notice.resources_saved#training", status_code=303)
