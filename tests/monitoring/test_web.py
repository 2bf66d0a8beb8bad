"""Monitoring over HTTP: the post intake API (token scopes, per-post errors), the pages, alert
handling (audited), the watch-query editor and tester, parked jobs, /metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from clamor.accounts import service as accounts
from clamor.audit.models import AuditEntry
from clamor.core.principal import SYSTEM
from clamor.intake.models import Item
from clamor.monitoring import service
from clamor.monitoring.models import AlertRecord, TopicRecord
from clamor.queue.models import QueueJob
from clamor.storage.database import Database
from tests.web.conftest import Browser


def token(db: Database, username: str, scopes: list[str]) -> dict[str, str]:
    with db.write() as session:
        secret = accounts.create_token(session, SYSTEM, username, "t", scopes).secret
    return {"Authorization": f"Bearer {secret}"}


POST = {"platform": "weibo", "id": "1", "text": "手机电池鼓包", "author": "a", "likes": 3}


def test_posts_are_stored_once_and_queued(client: TestClient, db: Database, seeded) -> None:
    headers = token(db, "pr_manager", ["monitoring:write"])
    response = client.post("/api/v1/posts", json=[POST, {**POST, "id": "2"}], headers=headers)
    assert response.status_code == 202
    body = response.json()
    assert (body["received"], body["stored"], body["duplicates"], body["errors"]) == (2, 2, 0, [])
    again = client.post("/api/v1/posts", json={"posts": [POST]}, headers=headers).json()
    assert (again["stored"], again["duplicates"]) == (0, 1)
    with db.read() as session:
        jobs = session.scalars(select(QueueJob)).all()
        items = session.scalars(select(Item).order_by(Item.id)).all()
    assert [(j.kind, j.payload) for j in jobs] == [("analyse", {"item_ids": body["item_ids"]})]
    assert items[0].meta == {"likes": 3} and items[0].source == "weibo"


def test_bad_posts_get_one_error_each_and_the_rest_is_stored(
    client: TestClient, db: Database, seeded
) -> None:
    headers = token(db, "pr_manager", ["monitoring:write"])
    lines = [
        json.dumps(POST),
        '{"platform": "weibo", "id": "2"',
        json.dumps({**POST, "id": "3", "reposts": "many"}),
        json.dumps({"platform": "weibo", "text": "no id"}),
    ]
    response = client.post(
        "/api/v1/posts",
        content="\n".join(lines).encode(),
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["stored"] == 1
    assert [(e["line"], e.get("field")) for e in body["errors"]] == [
        (2, None),
        (3, "reposts"),
        (4, "id"),
    ]
    all_bad = client.post(
        "/api/v1/posts", json=[{"platform": ["x"], "id": "1", "text": "t"}], headers=headers
    )
    assert all_bad.status_code == 422
    assert all_bad.json()["errors"][0]["field"] == "platform"
    not_json = client.post(
        "/api/v1/posts",
        content=b"[{,]",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422 and "line 1, column" in not_json.json()["message"]


def test_post_intake_needs_the_write_scope(client: TestClient, db: Database, seeded) -> None:
    reader = token(db, "pr_manager", ["monitoring:read"])
    assert client.post("/api/v1/posts", json=POST, headers=reader).status_code == 403
    analyst = token(db, "analyst", ["monitoring:write"])  # a token cannot do more than its owner
    assert client.post("/api/v1/posts", json=POST, headers=analyst).status_code == 403
    assert client.post("/api/v1/posts", json=POST).status_code in (401, 403)


def make_alert(db: Database) -> int:
    now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    with db.write() as session:
        session.add(
            TopicRecord(
                id="t1", keywords=["battery", "fire"], first_seen=now, last_seen=now, volume=12,
                copies=15, reach=90000, sentiment={"negative": 10}, categories={},
                timeline={"5909000": [12, 15, 90000]}, representative_item_ids=[], updated_at=now,
            )
        )  # fmt: skip
        alert = AlertRecord(
            key="topic:t1", book_id="a1", topic_id="t1", level=3, score=3.2,
            reasons=[
                {"code": "reach", "value": 90000, "points": 1.0, "text": "reach 90,000"},
                {"code": "volume", "value": 5, "points": 0.2, "text": "5 posts"}
                | {"text_zh": "5 条帖子"},
            ],
            keywords=["battery", "fire"], opened_at=now, updated_at=now, raised_at=now,
            updates=0, status="open",
        )  # fmt: skip
        session.add(alert)
        session.flush()
        return alert.id


def test_alert_handling_is_audited(browser: Browser, db: Database) -> None:
    alert_id = make_alert(db)
    browser.login("analyst")
    page = browser.get("/monitoring/alerts")
    assert page.status_code == 200 and "reach 90,000" in page.text and "battery" in page.text
    assert "5 条帖子" in page.text and "5 posts" not in page.text  # the reader's language
    done = browser.post_form(f"/monitoring/alerts/{alert_id}/acknowledge", {"back": "active"})
    assert done.status_code == 303
    refused = browser.post_form(f"/monitoring/alerts/{alert_id}/mark_false", {"back": "active"})
    assert refused.status_code == 403  # marking false is for the group's leader and deputy
    bad = browser.post_form(f"/monitoring/alerts/{alert_id}/snooze", {"hours": "lots"})
    assert bad.status_code == 422 and "hours" in bad.text
    browser.post_form(f"/monitoring/alerts/{alert_id}/snooze", {"hours": "4"})
    with db.read() as session:
        alert = session.get(AlertRecord, alert_id)
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_type == "alert")
        ).all()
    assert alert.status == "snoozed" and alert.suppressed_until is not None
    assert alert.status_by == "analyst"
    assert actions == ["monitoring.alert.acknowledge", "monitoring.alert.snooze"]


def test_a_too_long_note_is_refused_naming_it(browser: Browser, db: Database) -> None:
    alert_id = make_alert(db)
    browser.login("pr_manager")  # the monitoring group's leader may mark an alert false
    browser.get("/monitoring/alerts")
    too_long = browser.post_form(
        f"/monitoring/alerts/{alert_id}/mark_false", {"note": "假" * 2001, "back": "active"}
    )
    assert too_long.status_code == 422 and "备注最多 2000 个字符" in too_long.text
    with db.read() as session:
        assert session.get(AlertRecord, alert_id).status == "open"  # nothing changed
    done = browser.post_form(
        f"/monitoring/alerts/{alert_id}/mark_false", {"note": "演练数据", "back": "active"}
    )
    assert done.status_code == 303
    with db.read() as session:
        alert = session.get(AlertRecord, alert_id)
    assert (alert.status, alert.note) == ("false", "演练数据")


def test_pages_render_for_the_monitoring_group(browser: Browser, db: Database) -> None:
    make_alert(db)
    browser.login("analyst")
    for path in (
        "/monitoring",
        "/monitoring/panels",
        "/monitoring/topics/t1",
        "/monitoring/queries",
        "/monitoring/sources",
        "/monitoring/jobs",
    ):
        response = browser.get(path)
        assert response.status_code == 200, path
        assert "mon." not in response.text.replace("mon.kind", ""), path  # no missing keys
    assert browser.get("/monitoring/topics/nope").status_code == 404
    data = browser.client.get("/api/v1/monitoring/dashboard?hours=24").json()
    assert set(data["by_sentiment"]) == {"negative", "neutral", "positive"}
    assert data["alerts"][0]["level"] == 3


def test_watch_query_editor_reports_the_position_of_an_error(
    browser: Browser, db: Database
) -> None:
    browser.login("pr_manager")
    browser.get("/monitoring/queries")
    bad = browser.post_form(
        "/monitoring/queries", {"name": "brand", "kind": "brand", "query": "(nova AND phone"}
    )
    assert bad.status_code == 422 and "括号不配对（位置 0）" in bad.text
    assert "(nova AND phone" in bad.text  # the form keeps what was typed
    good = browser.post_form(
        "/monitoring/queries", {"name": "brand", "kind": "brand", "query": "nova NEAR/3 电池"}
    )
    assert good.status_code == 303
    with db.read() as session:
        [query] = service.list_queries(session)
    assert query.query == "nova NEAR/3 电池"


def test_query_tester_shows_matches_over_stored_items(browser: Browser, db: Database) -> None:
    from clamor.intake.service import ItemIn, store_items

    with db.write() as session:
        store_items(
            session,
            [
                ItemIn("post", "weibo", "1", "Nova手机电池起火了"),
                ItemIn("post", "weibo", "2", "今天天气不错"),
            ],
        )
    browser.login("analyst")
    browser.get("/monitoring/queries")
    found = browser.client.post(
        "/monitoring/queries-test",
        data={"query": "nova AND 电池"},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert found.status_code == 200
    assert "<mark>Nova</mark>手机<mark>电池</mark>起火了" in found.text
    assert "今天天气" not in found.text
    broken = browser.client.post(
        "/monitoring/queries-test",
        data={"query": "nova AND ("},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert "（位置 10）" in broken.text and 'id="tester-error"' in broken.text


def test_parked_jobs_are_listed_and_can_be_requeued(browser: Browser, db: Database) -> None:
    from clamor.queue.base import RetryPolicy
    from clamor.queue.table import TableQueue

    queue = TableQueue(db, RetryPolicy(max_attempts=1))
    queue.enqueue("analyse", {"item_ids": "bad"})
    [job] = queue.claim("w")
    queue.fail(job, "ValueError: payload.item_ids must be a list of integers")
    browser.login("pr_manager")
    page = browser.get("/monitoring/jobs")
    assert "payload.item_ids must be a list" in page.text
    assert browser.post_form(f"/monitoring/jobs/{job.id}/requeue").status_code == 303
    assert queue.parked() == [] and queue.stats().ready == 1
    assert browser.post_form(f"/monitoring/jobs/{job.id}/requeue").status_code == 404


def test_parked_detection_items_are_listed_with_the_parked_jobs(
    browser: Browser, db: Database
) -> None:
    from clamor.core import clock
    from clamor.intake.service import ItemIn, store_items
    from clamor.monitoring import pipeline
    from clamor.monitoring.models import DetectPending

    with db.write() as session:
        [stored] = store_items(session, [ItemIn("post", "weibo", "p-1", "电池鼓包")])
        session.add(
            DetectPending(
                item_id=stored.item.id,
                attempts=3,
                last_error="ValueError: bad detection features",
                parked_at=clock.now(),
            )
        )
    browser.login("pr_manager")
    page = browser.get("/monitoring/jobs")
    assert f"detect:{stored.item.id}" in page.text and "bad detection features" in page.text
    assert 'id="parked-count">1<' in page.text
    assert browser.post_form(f"/monitoring/jobs/detect:{stored.item.id}/discard").status_code == 404
    assert browser.post_form(f"/monitoring/jobs/detect:{stored.item.id}/requeue").status_code == 303
    assert pipeline.parked_items(db) == [] and pipeline.pending_count(db) == 1
    assert browser.post_form(f"/monitoring/jobs/detect:{stored.item.id}/requeue").status_code == 404


def test_metrics_in_the_prometheus_format(client: TestClient, db: Database, seeded) -> None:
    make_alert(db)
    from clamor.queue.table import TableQueue

    queue = TableQueue(db)
    queue.enqueue("analyse", {"item_ids": [1]})
    queue.heartbeat("w1", {"analyse": {"jobs": 2, "items": 500, "failures": 0, "seconds": 0.5}})
    text = client.get("/metrics").text
    assert 'clamor_queue_jobs{state="ready"} 1' in text
    assert 'clamor_queue_jobs_by_kind{kind="analyse"} 1' in text
    assert 'clamor_items_parked{stage="detect"} 0' in text
    assert 'clamor_stage_items_total{worker="w1",stage="analyse"} 500' in text
    assert 'clamor_worker_up{worker="w1"} 1' in text
    assert 'clamor_alerts_raised_total{level="orange"} 1' in text
    assert "# TYPE clamor_queue_oldest_age_seconds gauge" in text
