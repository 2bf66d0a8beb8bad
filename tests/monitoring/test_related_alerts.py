"""A sub-story's alert is stored with the open alert it resembles, and the alerts page links
the two (the detector's side: tests/monitoring/test_detector.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from clamor.detection.alerts import Alert, AlertChange, AlertLevel
from clamor.monitoring.detector import AlertEvent
from clamor.monitoring.models import AlertRecord
from clamor.monitoring.pipeline import _record_alerts
from clamor.storage.database import Database
from tests.web.conftest import Browser

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def raised(topic: str, item_id: str, related: str | None = None) -> AlertEvent:
    alert = Alert(
        f"a-{topic}", f"topic:{topic}", AlertLevel.ORANGE, 3.2, (), NOW.timestamp(), NOW.timestamp()
    )
    return AlertEvent(AlertChange("raised", alert), topic, None, (topic, "nova"), item_id, related)


def stored(db: Database) -> dict[str, AlertRecord]:
    with db.read() as session:
        return {row.topic_id or "": row for row in session.scalars(select(AlertRecord))}


def test_a_related_alert_is_recorded_within_one_batch_and_across_batches(db: Database) -> None:
    with db.write() as session:  # the event and its first sub-story in one detection batch
        _record_alerts(session, [raised("t1", "1"), raised("t2", "2", related="t1")], NOW)
    with db.write() as session:  # a later sub-story
        _record_alerts(session, [raised("t3", "3", related="t2")], NOW)
    rows = stored(db)
    assert rows["t1"].related_alert_id is None
    assert rows["t2"].related_alert_id == rows["t1"].id
    assert rows["t3"].related_alert_id == rows["t2"].id


def test_the_alerts_page_links_the_related_alert(browser: Browser, db: Database) -> None:
    with db.write() as session:
        _record_alerts(session, [raised("t1", "1"), raised("t2", "2", related="t1")], NOW)
    first = stored(db)["t1"].id
    browser.login("analyst")
    page = browser.get("/monitoring/alerts")
    assert page.status_code == 200
    link = f'<a href="/monitoring/alerts?status=active#alert-{first}">#{first}</a>'
    assert "相关预警（话题相近，可能是同一事件）：" in page.text and link in page.text
