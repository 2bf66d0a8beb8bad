"""Notification pages: the outbox with every delivery and attempt (who was told what, when, and
what went wrong), and each person's own preferences and quiet hours."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from clamor.audit import service as audit
from clamor.core.errors import ValidationError
from clamor.core.principal import Principal
from clamor.notify.models import Outbox
from clamor.notify.tables import Delivery, DeliveryAttempt, Preference
from clamor.web.deps import app_state, require
from clamor.web.render import render

router = APIRouter(include_in_schema=False)
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@router.get("/notifications")
def outbox_page(
    request: Request, principal: Principal = Depends(require("audit.read"))
) -> Response:
    with app_state(request).db.read() as session:
        rows = list(session.scalars(select(Outbox).order_by(Outbox.id.desc()).limit(100)))
        ids = [r.id for r in rows]
        deliveries = list(
            session.scalars(
                select(Delivery).where(Delivery.outbox_id.in_(ids)).order_by(Delivery.id)
            )
        )
        attempts = list(
            session.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id.in_([d.id for d in deliveries]))
                .order_by(DeliveryAttempt.id)
            )
        )
    by_row: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        by_row.setdefault(delivery.outbox_id, []).append(delivery)
    tries: dict[int, list[DeliveryAttempt]] = {}
    for attempt in attempts:
        tries.setdefault(attempt.delivery_id, []).append(attempt)
    return render(request, "notify/outbox.html", rows=rows, deliveries=by_row, attempts=tries)


@router.get("/notifications/preferences")
def preferences_page(
    request: Request, principal: Principal = Depends(require("dashboard.read"))
) -> Response:
    with app_state(request).db.read() as session:
        pref = session.scalar(select(Preference).where(Preference.user_id == principal.user_id))
    return render(request, "notify/preferences.html", pref=pref)


def _hhmm(value: str, field: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not HHMM.match(value):
        raise ValidationError.keyed("error.notify.bad_time", field=field)
    return value


@router.post("/notifications/preferences")
async def save_preferences(
    request: Request, principal: Principal = Depends(require("dashboard.read"))
) -> Response:
    if principal.user_id is None:
        raise ValidationError.keyed("error.notify.anonymous", field="user")
    form = await request.form()
    start = _hhmm(str(form.get("quiet_start", "")), "quiet_start")
    end = _hhmm(str(form.get("quiet_end", "")), "quiet_end")
    if (start is None) != (end is None) or (start is not None and start == end):
        raise ValidationError.keyed("error.notify.quiet_hours", field="quiet_end")
    email = bool(form.get("email"))
    daily, weekly = bool(form.get("daily_briefing")), bool(form.get("weekly_briefing"))
    with app_state(request).db.write() as session:
        pref = session.scalar(select(Preference).where(Preference.user_id == principal.user_id))
        before = None
        if pref is None:
            pref = Preference(user_id=principal.user_id, timezone="Asia/Shanghai")
            session.add(pref)
        else:
            before = {
                "email": pref.email,
                "quiet": [pref.quiet_start, pref.quiet_end],
                "briefings": [pref.daily_briefing, pref.weekly_briefing],
            }
        pref.email, pref.quiet_start, pref.quiet_end = email, start, end
        pref.daily_briefing, pref.weekly_briefing = daily, weekly
        session.flush()
        audit.record(
            session,
            principal,
            "notify.preferences",
            "user",
            principal.user_id,
            before=before,
            after={"email": email, "quiet": [start, end], "briefings": [daily, weekly]},
        )
    return RedirectResponse("/notifications/preferences?done=notice.preferences_saved", 303)
