"""A briefing in real headless Chromium: the trend chart draws, the figures are links, and the
negative posts' number opens exactly those posts."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from clamor.reports.models import BriefingRecord
from tests.browser.test_foundation_ui import log_in
from tests.reports.test_opinion_briefing import kept  # noqa: F401 - the seeded, kept briefing


def test_a_briefing_reads_in_the_browser_and_its_numbers_open_their_posts(
    page: Page,
    live_server: str,
    kept: BriefingRecord,  # noqa: F811
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server, "gm")
    page.goto(f"{live_server}/briefings")
    page.click(f"#briefing-{kept.id} h2 a")
    expect(page.locator("h1")).to_have_text("舆情日报 2026-03-09")
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    expect(page.locator("#section-attention tbody tr")).to_have_count(4)
    negative = page.locator("#section-overview tr", has_text="负面帖子").locator("a")
    expect(negative).to_have_text(str(kept.figures["opinion"]["negative"]))
    negative.click()
    expect(page.locator("h1")).to_have_text("帖子")
    expect(page.locator("tr.post-row")).to_have_count(kept.figures["opinion"]["negative"])
    assert errors == []
