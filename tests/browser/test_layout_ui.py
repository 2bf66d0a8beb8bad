"""Layout in a real browser: incident levels carry their plan colours, on a phone (390 px) the
pages people use on the move never scroll sideways (wide tables scroll inside their card), and
no page logs a failed request in the console."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_incidents_ui import signed_in
from tests.workflow.incidents.conftest import assessed, people  # noqa: F401 - fixture


def test_level_badge_is_coloured_and_phone_pages_do_not_scroll_sideways(
    chromium,
    live_server,
    db,
    people,  # noqa: F811 - the fixture imported above
) -> None:
    incident_id = assessed(db, people, level="II")
    with signed_in(chromium, live_server, "gm") as page:
        failures: list[str] = []
        page.on("console", lambda m: failures.append(m.text) if m.type == "error" else None)
        page.goto(f"{live_server}/incidents/{incident_id}")
        badge = page.locator("#incident-level")
        expect(badge).to_have_text("II")
        # Orange, not unstyled text: the level is what the leadership group looks for first.
        assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(247, 144, 9)"
        page.set_viewport_size({"width": 390, "height": 844})
        for path in (f"/incidents/{incident_id}", "/organisation", "/audit", "/incidents", "/"):
            page.goto(f"{live_server}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
        # Not even the browser's own request for a favicon fails.
        assert failures == []
