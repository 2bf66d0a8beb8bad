"""The foundation in a real browser: log in, switch language, edit the organisation, find the
change in the audit log; a wrong password shows the error."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")


def test_wrong_password_shows_the_error(page: Page, live_server: str) -> None:
    log_in(page, live_server, "admin", "not-the-password")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")
    expect(page).to_have_url(f"{live_server}/login")


def test_edit_a_member_in_english_and_find_it_in_the_audit_log(
    page: Page, live_server: str
) -> None:
    log_in(page, live_server, "admin")
    expect(page.locator("h1")).to_have_text("信访舆情管理总览")

    page.click("button[data-lang=en]")
    expect(page.locator("h1")).to_have_text("Complaints and public-opinion overview")

    page.click("nav.mainnav >> text=Organisation")
    expect(page).to_have_url(f"{live_server}/organisation")
    group = page.locator("#group-opinion_monitoring")
    expect(group.locator("h2")).to_contain_text("Opinion monitoring group")

    group.locator("form.add-member select[name=person]").select_option("cs_rep")
    group.locator("form.add-member select[name=role]").select_option("member")
    group.locator("form.add-member button").click()
    expect(page.locator(".notice")).to_have_text("Member added to the group.")
    expect(page.locator("#group-opinion_monitoring tr[data-person=cs_rep]")).to_contain_text(
        "CS_REP"
    )

    page.click("nav.mainnav >> text=Audit log")
    page.fill("input[name=action]", "org.member")
    page.click("form.filters button")
    row = page.locator("tr.audit-row[data-action='org.member.add']").first
    expect(row).to_contain_text("admin")
    expect(row).to_contain_text("cs_rep")
    expect(row).to_contain_text("opinion_monitoring")


def test_the_language_choice_survives_a_new_login(page: Page, live_server: str) -> None:
    log_in(page, live_server, "gm")
    page.click("button[data-lang=en]")
    page.click("text=Log out")
    expect(page).to_have_url(f"{live_server}/login")
    log_in(page, live_server, "gm")
    expect(page.locator("nav.mainnav")).to_contain_text("Incidents")
