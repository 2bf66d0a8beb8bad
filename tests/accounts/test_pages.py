"""The settings page's forms: a refusal names what is wrong and keeps what was typed."""

from __future__ import annotations

from tests.web.conftest import Browser


def test_a_refused_new_user_keeps_the_name_but_never_the_password(browser: Browser) -> None:
    browser.login("admin")
    browser.get("/settings")
    refused = browser.post_form(
        "/settings/users",
        {"username": "zhao.li", "display_name": "赵丽", "password": "short-pw"[:5]},
    )
    assert refused.status_code == 422 and "密码至少需要 8 个字符" in refused.text
    assert 'value="zhao.li"' in refused.text and 'value="赵丽"' in refused.text
    assert "short" not in refused.text


def test_a_refused_token_keeps_its_scopes(browser: Browser) -> None:
    browser.login("admin")
    browser.get("/settings")
    refused = browser.post_form("/settings/tokens", {"name": "", "scopes": "org:read"})
    assert refused.status_code == 422 and "请为令牌填写名称" in refused.text
    assert 'value="org:read" checked' in refused.text


def test_the_admin_reaches_the_playbooks_from_settings_and_back(browser: Browser) -> None:
    browser.login("admin")
    # The admin edits playbooks but may not read incidents: the way in is the settings page.
    assert 'href="/incidents/playbooks"' in browser.get("/settings").text
    playbooks = browser.get("/incidents/playbooks").text
    assert 'href="/settings"' in playbooks and 'href="/incidents"' not in playbooks
    browser.client.cookies.clear()
    browser.login("cs_rep")
    assert 'href="/incidents/playbooks"' not in browser.get("/settings").text
