"""Monitoring in a real browser: posts stream in while the dashboard is open and the alert
appears without a reload (htmx), the charts draw (ECharts), the topic page shows the event's
posts, an alert is acknowledged, and the query tester points at a syntax error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from clamor.monitoring import demo, pipeline
from clamor.monitoring.replay import load
from clamor.queue.table import TableQueue
from clamor.storage.database import Database
from clamor.worker.handlers import PipelineContext
from clamor.worker.loop import PipelineThread
from tests.browser.test_foundation_ui import log_in


@pytest.fixture
def running_pipeline(db: Database) -> Iterator[TableQueue]:
    queue = TableQueue(db)
    runner = PipelineThread(PipelineContext(db, queue), name="browser-test")
    runner.worker.wait = 0.1
    runner.start()
    yield queue
    runner.stop()


def test_an_alert_appears_live_and_is_handled(
    page: Page, live_server: str, db: Database, running_pipeline: TableQueue
) -> None:
    log_in(page, live_server, "pr_manager")
    page.goto(f"{live_server}/monitoring")
    expect(page.locator("#active-alerts")).to_contain_text("暂无预警")

    items = load(Path(demo.STREAM)).items
    for start in range(0, len(items), 50):
        with db.write() as session:
            pipeline.ingest(session, running_pipeline, items[start : start + 50])

    rows = page.locator("#active-alerts tr.alert-row")
    alert = rows.filter(has_text="germanwings").first  # no reload: htmx refreshes the panel
    expect(alert).to_be_visible(timeout=60_000)
    expect(alert.locator(".level")).to_have_attribute("data-level", "red")

    deadline = time.monotonic() + 120  # let the pipeline finish the stream before counting
    while running_pipeline.stats().ready + running_pipeline.stats().claimed:
        assert time.monotonic() < deadline, "the pipeline did not finish"
        time.sleep(0.2)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-charts-loaded", str(len(items)))
    expect(page.locator("#chart-sentiment canvas")).to_have_count(1)
    expect(page.locator("#top-authors")).not_to_contain_text("暂无帖子")

    page.locator("#active-alerts tr.alert-row").filter(has_text="germanwings").first.locator(
        "a"
    ).click()
    expect(page.locator("h1")).to_contain_text("germanwings")
    expect(page.locator("tr.topic-post").first).to_be_visible()

    page.click("nav.subnav >> text=预警")
    card = page.locator("section.alert").first
    card.locator("button:has-text('确认')").click()
    expect(page.locator(".notice")).to_have_text("预警已更新。")
    page.select_option("select[name=status]", "acknowledged")
    expect(page.locator("section.alert").first.locator(".status")).to_have_text("已确认")

    page.click("nav.subnav >> text=监测词")
    page.fill("#tester-query", "(germanwings AND crash*")
    page.click("#tester button")
    expect(page.locator("#tester-error")).to_contain_text("位置 0")
    page.fill("#tester-query", "germanwings AND crash*")
    page.click("#tester button")
    expect(page.locator("#tester-summary")).to_be_visible()
    expect(page.locator("li.test-hit mark").first).to_be_visible()
