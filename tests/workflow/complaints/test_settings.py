"""Editing SLA policies and reply templates: who may, what is refused (naming the field), that
the change is used at once and audited — in the services and over HTTP."""

from __future__ import annotations

import pytest

from clamor.audit import service as audit
from clamor.core.errors import PermissionDenied, ValidationError
from clamor.storage.database import Database
from clamor.workflow.complaints import reply_templates, sla_service
from clamor.workflow.complaints.sla_service import PolicyIn, policy_inputs, policy_set
from clamor.workflow.complaints.templates import TemplateKind
from clamor.workflow.sla import DEFAULT_POLICIES
from clamor.workflow.vocabulary import Priority
from tests.web.conftest import Browser
from tests.workflow.complaints.conftest import complaint, load, submit, utc


def flat(first: float, resolution: float) -> list[PolicyIn]:
    """The same business-hour budgets for every priority."""
    return [PolicyIn(p.value, "*", first, resolution) for p in Priority]


def _audited(db: Database, action: str) -> list[audit.AuditEntry]:
    with db.read() as session:
        return audit.search(session, audit.AuditFilter(action=action))


def test_saved_policies_set_the_deadlines_of_new_cases(db: Database, people, at) -> None:
    at(utc(2026, 3, 10, 2, 0))  # Tuesday 10:00 in Shanghai
    with db.write() as session:
        sla_service.save_policies(session, people["cs_manager"], flat(2, 10), "faster")
    (result,) = submit(db, people["cs_rep"], complaint("p1"))
    case = load(db, result.case.id)
    assert case.first_response_due_at == utc(2026, 3, 10, 4, 0)  # 12:00 the same day
    assert case.resolution_due_at == utc(2026, 3, 11, 3, 0)  # 9 h that day, 1 h the next
    (entry,) = _audited(db, "complaint.sla_policies")
    assert entry.reason == "faster" and entry.after["policies"][0]["first_response_hours"] == 2
    assert len(entry.before["policies"]) == len(list(DEFAULT_POLICIES))


def test_policies_round_trip_with_a_category_override(db: Database, people) -> None:
    entries = [*flat(4, 20), PolicyIn("normal", "data_privacy", 1.5, 8, "24x7")]
    with db.write() as session:
        sla_service.save_policies(session, people["admin"], entries)
    with db.read() as session:
        shown = policy_inputs(policy_set(session))
    assert shown[-1] == PolicyIn("normal", "data_privacy", 1.5, 8.0, "24x7")
    assert len(shown) == 5


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        (flat(2, 10)[:3], "policies"),  # no default for one priority
        ([*flat(2, 10), PolicyIn("normal", "*", 1, 2)], "policies"),  # two defaults
        ([PolicyIn("soon", "*", 1, 2), *flat(2, 10)], "policies[0].priority"),
        ([*flat(2, 10), PolicyIn("low", "noise", 1, 2)], "policies[4].category"),
        ([*flat(2, 10), PolicyIn("low", "other", 5, 2)], "policies[4].first_response_hours"),
        ([*flat(2, 10), PolicyIn("low", "other", 0, 2)], "policies[4].first_response_hours"),
        ([*flat(2, 10), PolicyIn("low", "other", 1, 2, "weekly")], "policies[4].clock"),
    ],
)
def test_bad_policies_are_refused_naming_the_field(db: Database, people, entries, field) -> None:
    with pytest.raises(ValidationError) as caught, db.write() as session:
        sla_service.save_policies(session, people["cs_manager"], entries)
    assert caught.value.field == field
    with db.read() as session:
        assert policy_set(session) is DEFAULT_POLICIES  # nothing stored


def test_only_configurers_edit(db: Database, people) -> None:
    with pytest.raises(PermissionDenied), db.write() as session:
        sla_service.save_policies(session, people["cs_rep"], flat(2, 10))
    with pytest.raises(PermissionDenied), db.write() as session:
        reply_templates.save_template(session, people["cs_rep"], "reply", "en", "s", "b")


def test_an_unknown_placeholder_is_named(db: Database, people) -> None:
    with pytest.raises(ValidationError) as caught, db.write() as session:
        reply_templates.save_template(
            session, people["cs_manager"], "reply", "zh-CN", "答复 {tracking_code}", "{nickname}"
        )
    assert caught.value.field == "body" and "{nickname}" in caught.value.message
    with pytest.raises(ValidationError) as bad_kind, db.write() as session:
        reply_templates.save_template(session, people["cs_manager"], "poem", "en", "s", "b")
    assert bad_kind.value.field == "kind"


def test_an_edited_template_is_used_then_reset(db: Database, people) -> None:
    manager = people["cs_manager"]
    with db.write() as session:
        reply_templates.save_template(
            session, manager, "acknowledgement", "en", "Got it: {tracking_code}", "Hi {name}"
        )
    with db.read() as session:
        used = reply_templates.template(session, TemplateKind.ACKNOWLEDGEMENT, "en")
        shipped_zh = reply_templates.template(session, TemplateKind.ACKNOWLEDGEMENT, "zh-CN")
    assert used.subject == "Got it: {tracking_code}" and "{company_name}" in shipped_zh.subject
    with db.write() as session:
        reply_templates.reset_template(session, manager, "acknowledgement", "en")
    with db.read() as session:
        back = reply_templates.template(session, TemplateKind.ACKNOWLEDGEMENT, "en")
    assert "{company_name}" in back.subject
    actions = [e.action for e in _audited(db, "complaint.reply_template")]
    assert sorted(actions) == ["complaint.reply_template", "complaint.reply_template_reset"]


# --- over HTTP ----------------------------------------------------------------------------------


def test_settings_page_edits_over_http(browser: Browser, db: Database, people) -> None:
    browser.login("cs_manager")
    page = browser.get("/complaints/settings")
    assert page.status_code == 200 and 'id="sla-policies"' in page.text
    refused = browser.post_form(
        "/complaints/settings/templates/reply/en",
        {"subject": "Reply {tracking_code}", "body": "Dear {nickname}"},
    )
    assert refused.status_code == 422 and "{nickname}" in refused.text
    assert "Dear {nickname}" in refused.text  # what was typed is kept in the form
    saved = browser.post_form(
        "/complaints/settings/templates/reply/en",
        {"subject": "Reply {tracking_code}", "body": "Dear {name},\n{reply_text}"},
    )
    assert saved.status_code == 303 and "reply_template_saved" in saved.headers["location"]
    rows = {
        "priority": [p.value for p in Priority] + ["normal"],
        "category": ["*"] * 4 + ["data_privacy"],
        "first_response_hours": ["1", "2", "3", "4", ""],
        "resolution_hours": ["10", "20", "30", "40", ""],
        "clock_kind": ["24x7", "business", "business", "business", "business"],
        "reason": "tighter",
    }
    assert browser.post_form("/complaints/settings/sla", rows).status_code == 303
    with db.read() as session:
        assert policy_inputs(policy_set(session))[1] == PolicyIn("high", "*", 2, 20, "business")
    rows["first_response_hours"] = ["1", "two", "3", "4", ""]
    bad = browser.post_form("/complaints/settings/sla", rows)
    assert bad.status_code == 422 and "policies[1].first_response_hours" in bad.text
    browser.client.cookies.clear()
    browser.login("cs_rep")
    assert browser.get("/complaints/settings").status_code == 200  # may read
    forbidden = browser.post_form("/complaints/settings/templates/reply/en", {"subject": "x"})
    assert forbidden.status_code == 403


def test_an_administrator_reaches_the_settings_from_their_account_page(
    browser: Browser, people
) -> None:
    """Administrators may configure deadlines and templates without reading complaints."""
    browser.login("admin")
    account = browser.get("/settings")
    assert 'id="complaint-settings-link"' in account.text
    settings_page = browser.get("/complaints/settings")
    assert settings_page.status_code == 200
    # Its way back leads to their settings, not to the inbox they may not open.
    assert 'href="/settings"' in settings_page.text
    assert 'href="/complaints"' not in settings_page.text
    assert browser.get("/complaints").status_code == 403  # the cases stay out of reach
    browser.client.cookies.clear()
    browser.login("cs_rep")
    assert 'id="complaint-settings-link"' not in browser.get("/settings").text


def test_the_import_button_shows_only_to_those_who_may_import(browser: Browser, people) -> None:
    browser.login("gm")  # the leadership reads the inbox but does not handle cases
    assert browser.get("/complaints").status_code == 200
    assert 'href="/complaints/import"' not in browser.get("/complaints").text
    assert browser.get("/complaints/import").status_code == 403
    browser.client.cookies.clear()
    browser.login("cs_rep")
    assert 'href="/complaints/import"' in browser.get("/complaints").text
    assert browser.get("/complaints/import").status_code == 200
