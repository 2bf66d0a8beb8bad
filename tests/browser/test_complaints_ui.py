"""The complaint path in a real browser: a visitor complains through the public form and gets a
tracking code; the manager finds the case by a two-character word, acknowledges, accepts and
assigns it; the representative replies with a template; the visitor sees the progress."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_foundation_ui import log_in


def act(page: Page, action: str) -> None:
    page.locator(f"form.action[data-action={action}] button").click()
    expect(page.locator(".notice")).to_be_visible()


def test_from_public_form_to_reply_and_status(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/complain")
    page.fill("input[name=title]", "退款迟迟不到账")
    page.fill("textarea[name=text]", "我三周前申请了退款，至今没有到账，客服也不回复。")
    page.fill("input[name=phone]", "138 1234 5678")
    page.click("#complaint-form button[type=submit]")
    code = page.locator("#tracking-code").inner_text()
    assert len(code) == 11

    page.context.clear_cookies()
    log_in(page, live_server, "cs_manager")
    page.click("nav.mainnav >> text=信访")
    page.fill("#inbox-filters input[name=q]", "退款")
    page.click("#inbox-filters button")
    page.click(f"text={code}")
    expect(page.locator("#case-status")).to_have_attribute("data-status", "received")
    expect(page.locator("#contact")).not_to_contain_text("13812345678")
    act(page, "acknowledge")
    act(page, "accept")
    page.locator("form.action[data-action=assign] select[name=assignee_user]").select_option(
        "cs_rep"
    )
    act(page, "assign")
    expect(page.locator("#case-status")).to_have_attribute("data-status", "assigned")
    expect(page.locator("#timeline li")).to_have_count(4)

    page.context.clear_cookies()
    log_in(page, live_server, "cs_rep")
    page.goto(f"{live_server}/complaints")
    page.click(f"text={code}")
    act(page, "start")
    page.locator("select[name=template]").select_option("reply")
    page.click("text=套用模板")
    reply = page.locator("form.action[data-action=reply] textarea[name=reply]")
    expect(reply).to_contain_text(code)
    reply.fill("您的退款已于今日原路退回，请注意查收。")
    act(page, "reply")
    expect(page.locator("#case-status")).to_have_attribute("data-status", "replied")
    expect(page.locator("#communications")).to_contain_text("原路退回")

    page.context.clear_cookies()
    page.goto(f"{live_server}/complain/status")
    page.fill("input[name=code]", code.lower())
    page.fill("input[name=contact]", "13812345678")
    page.click("#status-form button")
    expect(page.locator("#status-result")).to_contain_text("已答复")
