"""The notifications page shows every delivery and attempt; preferences are checked."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from clamor.notify.models import Outbox
from clamor.notify.tables import Delivery, DeliveryAttempt, Preference
from tests.web.conftest import Browser

AT = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


def test_attempts_are_visible(browser: Browser, db) -> None:
    with db.write() as session:
        row = Outbox(
            channel="in_app",
            recipient="group:leadership",
            subject="II 级事件",
            body="x",
            dedup_key="k1",
            created_at=AT,
            state="planned",
        )
        session.add(row)
        session.flush()
        delivery = Delivery(
            outbox_id=row.id,
            channel="email",
            destination="gm@example.cn",
            state="pending",
            attempts=1,
            next_attempt_at=AT,
            created_at=AT,
            last_error="SMTP 127.0.0.1:1: Connection refused",
        )
        session.add(delivery)
        session.flush()
        session.add(
            DeliveryAttempt(delivery_id=delivery.id, at=AT, ok=False, error=delivery.last_error)
        )
    browser.login("gm")
    page = browser.get("/notifications")
    assert page.status_code == 200
    assert "gm@example.cn" in page.text and "Connection refused" in page.text
    browser.client.cookies.clear()
    browser.login("admin")
    assert browser.get("/notifications").status_code == 200  # admins hold audit.read


def test_preferences_saved_and_bad_times_refused(browser: Browser, db) -> None:
    browser.login("cs_rep")
    browser.get("/notifications/preferences")
    bad = browser.post_form(
        "/notifications/preferences", {"email": "1", "quiet_start": "25:00", "quiet_end": "07:00"}
    )
    assert bad.status_code == 422 and "quiet_start" in bad.text
    half = browser.post_form("/notifications/preferences", {"quiet_start": "22:00"})
    assert half.status_code == 422
    with db.read() as session:
        assert session.scalars(select(Preference)).all() == []
    ok = browser.post_form(
        "/notifications/preferences", {"quiet_start": "22:00", "quiet_end": "07:30"}
    )
    assert ok.status_code == 303
    with db.read() as session:
        (pref,) = session.scalars(select(Preference)).all()
        assert (pref.email, pref.quiet_start, pref.quiet_end) == (False, "22:00", "07:30")
