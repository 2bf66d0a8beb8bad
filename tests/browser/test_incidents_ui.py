"""A whole incident in a real browser, from a monitoring alert to an accepted review report, each
step by the person the plan gives it to: the opinion analyst opens and reports it, the CS manager
assesses and instructs, the CS representative contacts the customers, PR drafts, legal reviews,
the GM approves, and the leadership group accepts the report. Users without the role are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from clamor.monitoring.models import AlertRecord
from tests.conftest import PASSWORD


@contextmanager
def signed_in(chromium, base: str, username: str) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(f"{base}/")
    try:
        yield page
    finally:
        context.close()


def forged_post(page: Page, path: str, form: dict[str, str]) -> int:
    """Post a form the page does not offer (with the page's valid CSRF token): what a user
    without the role gets when trying anyway."""
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post(path, form={**form, "csrf_token": token or ""})
    return response.status


def refused_to(chromium, base: str, username: str, page_url: str, path: str, form: dict) -> int:
    """What `username`, who lacks the role for this step, gets when posting it anyway."""
    with signed_in(chromium, base, username) as page:
        page.goto(page_url)
        return forged_post(page, path, form)


def act(page: Page, action: str, **fields: str) -> None:
    form = page.locator(f"#actions form[data-action={action}]")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button").click()
    expect(page.locator(".notice")).to_be_visible()


def _alert(db) -> int:
    """A monitoring alert as the detector stores it (graded 3 = orange, level II)."""
    moment = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
    with db.write() as session:
        alert = AlertRecord(
            key="category:data_privacy",
            book_id="a1",
            topic_id=None,
            watch_query_id=None,
            level=3,
            score=0.82,
            reasons=[{"code": "volume", "value": 320, "points": 3, "text": "2 小时内 320 条帖子"}],
            keywords=["泄露", "手机号", "诈骗电话"],
            opened_at=moment,
            updated_at=moment,
            raised_at=moment,
            first_item_id=None,
            updates=0,
            status="open",
        )
        session.add(alert)
        session.flush()
        return alert.id


def test_a_whole_incident_from_an_alert_to_accepted_review(chromium, live_server: str, db) -> None:
    base = live_server
    alert_id = _alert(db)
    with signed_in(chromium, base, "analyst") as page:
        page.goto(f"{base}/incidents")
        page.fill("#open-from-alert input[name=alert_id]", str(alert_id))
        page.click("#open-from-alert button")
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "identified")
        expect(page.locator("h1")).to_contain_text("舆情预警：泄露、手机号、诈骗电话")
        expect(page.locator("#suggested h3")).to_contain_text("II")
        expect(page.locator("#suggested")).to_contain_text("2 小时内 320 条帖子")
        incident_url = page.url.split("?")[0]
        incident_id = re.search(r"/incidents/(\d+)", incident_url).group(1)
        act(page, "report")
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "reported")
        expect(page.locator("#assess-form")).to_have_count(0)

    with signed_in(chromium, base, "cs_rep") as page:
        page.goto(incident_url)
        expect(page.locator("#assess-form")).to_have_count(0)
        refused = forged_post(
            page,
            f"{incident_url}/act",
            {"action": "assess", "severity": "3", "scope": "3", "risk": "3", "level": "II"},
        )
        assert refused == 403

    with signed_in(chromium, base, "cs_manager") as page:
        page.goto(incident_url)
        for dimension in ("severity", "scope", "risk"):
            page.select_option(f"#rate-{dimension}", "3")
        page.click("#propose")
        expect(page.locator("#proposed-level")).to_have_text("II")
        expect(page.locator("#assess-level")).to_have_value("II")
        page.click("#assess-submit")
        expect(page.locator("#incident-level")).to_have_text("II")
        expect(page.locator("#leadership-engaged")).to_be_visible()
        denied = refused_to(
            chromium, base, "cs_rep", incident_url, f"{incident_url}/instruct", {"playbook": "1"}
        )
        assert denied == 403
        page.click("#instruct-playbook button")
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "instructed")
        expect(page.locator("#tasks tr[data-task]")).to_have_count(6)

    with signed_in(chromium, base, "gm") as page:
        page.goto(f"{base}/incidents")
        expect(page.locator("#leadership-watch")).to_contain_text("泄露、手机号")

    with signed_in(chromium, base, "cs_rep") as page:
        page.goto(incident_url)
        task = page.locator("#tasks tr[data-type=customer_communication]")
        task_id = task.get_attribute("data-task")
        task_path = f"{base}/incidents/tasks/{task_id}/act"
        denied = refused_to(
            chromium, base, "legal", incident_url, task_path, {"action": "acknowledge"}
        )
        assert denied == 403
        task.locator("form[data-task-action=acknowledge] button").click()
        expect(task.locator(".task-state")).to_have_text("已确认")
        task.locator("input[name=result]").fill("已逐一致电 12 位用户，提供改号协助与补偿")
        task.locator("form[data-task-action=complete] button").click()
        expect(task.locator(".task-state")).to_have_text("已完成")
        denied = refused_to(
            chromium, base, "legal", incident_url, f"{incident_url}/act", {"action": "respond"}
        )
        assert denied == 403
        act(page, "respond")
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "responding")

    draft = {"title": "擅自起草", "text": "无权起草的声明"}
    assert (
        refused_to(chromium, base, "cs_rep", incident_url, f"{incident_url}/statements", draft)
        == 403
    )
    with signed_in(chromium, base, "pr_manager") as page:
        page.goto(incident_url)
        page.fill("#statement-form input[name=title]", "关于用户信息安全的说明")
        page.fill("#statement-form textarea[name=text]", "我们已关闭存在漏洞的接口。")
        page.click("#statement-form button")
        statement = page.locator("#statements article.statement").first
        expect(statement).to_have_attribute("data-state", "draft")
        statement.locator("textarea[name=text]").fill(
            "我们已关闭存在漏洞的接口。\n并已向警方报案。"
        )
        statement.locator("form[action$='/edit'] button").click()
        expect(statement.locator("h3")).to_contain_text("v2")
        statement.locator("form[data-statement-action=submit] button").click()
        expect(statement).to_have_attribute("data-state", "legal_review")
        statement_path = (
            f"{base}/incidents/statements/{statement.get_attribute('data-statement')}/act"
        )
        assert forged_post(page, statement_path, {"action": "clear"}) == 403  # legal reviews

    with signed_in(chromium, base, "legal") as page:
        page.goto(incident_url)
        statement = page.locator("#statements article.statement").first
        statement.locator("form[data-statement-action=clear] button").click()
        expect(statement).to_have_attribute("data-state", "pending_approval")

    with signed_in(chromium, base, "pr_manager") as page:
        page.goto(incident_url)
        statement = page.locator("#statements article.statement").first
        expect(statement.locator("form[data-statement-action=approve]")).to_have_count(0)
        statement_id = statement.get_attribute("data-statement")
        refused = forged_post(
            page, f"{base}/incidents/statements/{statement_id}/act", {"action": "approve"}
        )
        assert refused == 403  # level II: only the general manager approves

    with signed_in(chromium, base, "gm") as page:
        page.goto(incident_url)
        statement = page.locator("#statements article.statement").first
        statement.locator("form[data-statement-action=approve] button").click()
        expect(statement).to_have_attribute("data-state", "approved")

    with signed_in(chromium, base, "pr_manager") as page:
        page.goto(incident_url)
        statement = page.locator("#statements article.statement").first
        denied = refused_to(
            chromium, base, "cs_rep", incident_url, statement_path, {"action": "publish"}
        )
        assert denied == 403
        statement.locator("form[data-statement-action=publish] button").click()
        expect(statement).to_have_attribute("data-state", "published")
        expect(statement.locator("textarea")).to_have_count(0)  # frozen
        page.click("#statements a[href*='/diff']")
        expect(page.locator("#diff ins")).to_have_text("并已向警方报案。")

    resolve = {"action": "resolve", "resolution_summary": "擅自结案"}
    assert refused_to(chromium, base, "cs_rep", incident_url, f"{incident_url}/act", resolve) == 403
    with signed_in(chromium, base, "cs_manager") as page:
        page.goto(incident_url)
        act(page, "resolve", resolution_summary="接口已修复，受影响用户均已联系")
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "resolved")
        page.fill("#review-form textarea[name=causes]", "第三方短信接口未做鉴权")
        page.fill("#review-form textarea[name=improvements]", "对外接口上线前做安全评审")
        page.click("#review-form button")
        page.fill("#improvement-form input[name=text]", "接口鉴权整改")
        page.select_option("#improvement-form select[name=owner]", "cs_manager")
        page.fill("#improvement-form input[name=due_on]", "2026-12-31")
        page.click("#improvement-form button")
        expect(page.locator("#improvements")).to_contain_text("接口鉴权整改")
        denied = refused_to(
            chromium,
            base,
            "cs_rep",
            incident_url,
            f"{incident_url}/act",
            {"action": "submit_review"},
        )
        assert denied == 403
        act(page, "submit_review")
        expect(page.locator("#review-state")).to_have_text("已提交领导小组")

    with signed_in(chromium, base, "cs_rep") as page:
        page.goto(incident_url)
        expect(page.locator("#actions form[data-action=accept_review]")).to_have_count(0)
        assert forged_post(page, f"{incident_url}/act", {"action": "accept_review"}) == 403

    with signed_in(chromium, base, "gm") as page:
        page.goto(incident_url)
        act(page, "accept_review", comments="同意")
        expect(page.locator("#review-state")).to_have_text("领导小组已认可")
        act(page, "close")
        expect(page.locator("#incident-state")).to_have_attribute("data-state", "closed")
        timeline = page.locator("#timeline li")
        expect(timeline.first).to_contain_text("analyst")
        expect(page.locator("#timeline li[data-action=accept_review]")).to_contain_text("gm")
        response = page.request.get(f"{base}/incidents/{incident_id}/report.pdf")
        assert response.status == 200 and response.body().startswith(b"%PDF")
