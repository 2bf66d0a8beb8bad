"""The public form's per-address limit is counted in the database: two app instances (two server
processes) on one database share it, and ended windows are pruned."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clamor.app import create_app
from clamor.core.config import Settings
from clamor.storage.database import Database
from clamor.storage.ratelimit import RateCounter, SharedRateLimiter
from tests.conftest import TEST_SECRET, RoleUsers
from tests.web.conftest import Browser
from tests.workflow.complaints.test_webform import cases, form

LIMIT = 3


@pytest.fixture
def two_servers(tmp_path: Path, db: Database, seeded: RoleUsers) -> Iterator[list[Browser]]:
    """Two apps, each with its own engine (as two processes have), on the same database."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=db.url,
        secret_key=TEST_SECRET,
        complaint_form_limit_per_hour=LIMIT,
    )
    other = Database(db.url)
    with (
        TestClient(create_app(settings, db=db), follow_redirects=False) as first,
        TestClient(create_app(settings, db=other), follow_redirects=False) as second,
    ):
        yield [Browser(first), Browser(second)]
    other.dispose()


def test_two_servers_share_one_limit_per_address(two_servers: list[Browser], db: Database) -> None:
    for n in range(LIMIT):
        browser = two_servers[n % 2]
        assert browser.post_form("/complain", form(browser)).status_code == 200
    late = two_servers[LIMIT % 2]
    refused = late.post_form("/complain", form(late))
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 3600
    minutes = -(-wait // 60)
    assert f"每小时最多 {LIMIT} 件" in refused.text and f"{minutes} 分钟后再试" in refused.text
    assert cases(db) == LIMIT
    # the other server refuses too, in English when asked, and in JSON for a JSON client
    other = two_servers[(LIMIT + 1) % 2]
    other.client.cookies.set("clamor_lang", "en")
    data = {**form(other), "csrf_token": other.csrf}
    english = other.client.post("/complain", data=data, headers={"accept": "application/json"})
    assert english.status_code == 429 and english.headers["Retry-After"]
    body = english.json()
    assert body["error"] == "rate_limited"
    assert f"at most {LIMIT} an hour" in body["message"] and "Try again in" in body["message"]
    assert cases(db) == LIMIT


def test_status_lookups_have_their_own_shared_limit(two_servers: list[Browser]) -> None:
    for n in range(3 * LIMIT):
        browser = two_servers[n % 2]
        browser.get("/complain/status")
        answer = browser.post_form("/complain/status", {"code": "x", "contact": "y"})
        assert answer.status_code in (200, 422)
    refused = two_servers[0].post_form("/complain/status", {"code": "x", "contact": "y"})
    assert refused.status_code == 429 and f"每小时最多 {3 * LIMIT} 次" in refused.text


def test_a_fixed_window_resets_and_old_windows_are_pruned(db: Database) -> None:
    moment = [datetime(2026, 3, 10, 2, 59, 30, tzinfo=UTC)]
    first = SharedRateLimiter(db, "test", 2, now=lambda: moment[0])
    second = SharedRateLimiter(Database(db.url), "test", 2, now=lambda: moment[0])
    assert first.hit("10.0.0.1") is None and second.hit("10.0.0.1") is None
    refusal = first.hit("10.0.0.1")
    assert refusal is not None and refusal.limit == 2 and refusal.retry_after == 31
    assert second.hit("10.0.0.2") is None  # another address counts apart
    moment[0] += timedelta(seconds=31)  # 03:00:01, a new window
    assert second.hit("10.0.0.1") is None
    with db.read() as session:
        rows = session.execute(select(RateCounter.key, RateCounter.window_start)).all()
        assert {start for _, start in rows} == {datetime(2026, 3, 10, 3, 0, tzinfo=UTC)}
        assert "10.0.0.1" not in {key for key, _ in rows}  # stored hashed
        assert session.scalar(select(func.count()).select_from(RateCounter)) == 1
