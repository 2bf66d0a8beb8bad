from clamor.accounts.scopes import scope_allows, unknown_scopes
from clamor.org.permissions import (
    READ_PERMISSIONS,
    GroupKind,
    GroupRole,
    Role,
    permissions_for,
)


def roles(*pairs: tuple[GroupKind, Role]) -> list[GroupRole]:
    return [GroupRole(kind, role) for kind, role in pairs]


def test_leadership_sees_everything() -> None:
    granted = permissions_for(roles((GroupKind.LEADERSHIP, Role.MEMBER)))
    assert granted >= READ_PERMISSIONS


def test_general_manager_approves_major_statements_and_a_member_does_not() -> None:
    gm = permissions_for(roles((GroupKind.LEADERSHIP, Role.LEADER)))
    member = permissions_for(roles((GroupKind.LEADERSHIP, Role.MEMBER)))
    assert "statements.approve_major" in gm
    assert "statements.approve_major" not in member


def test_a_group_acts_on_its_own_work_only() -> None:
    cs_rep = permissions_for(roles((GroupKind.COMPLAINT_HANDLING, Role.MEMBER)))
    analyst = permissions_for(roles((GroupKind.OPINION_MONITORING, Role.MEMBER)))
    assert "complaints.handle" in cs_rep and "monitoring.read" not in cs_rep
    assert "monitoring.read" in analyst and "complaints.read" not in analyst
    assert "complaints.assign" not in cs_rep  # assigning is for the manager and deputy
    assert "audit.read" not in cs_rep


def test_complaint_group_leader_assesses_and_instructs() -> None:
    manager = permissions_for(roles((GroupKind.COMPLAINT_HANDLING, Role.LEADER)))
    assert {"incidents.assess", "incidents.instruct", "complaints.assign"} <= manager


def test_department_grants_legal_review() -> None:
    assert "statements.legal_review" in permissions_for([], "legal")
    assert "statements.legal_review" not in permissions_for([], "marketing")


def test_admin_manages_the_org_but_does_not_handle_complaints() -> None:
    admin = permissions_for([], is_admin=True)
    assert {"org.manage", "users.manage", "audit.read"} <= admin
    assert "complaints.handle" not in admin


def test_roles_add_up() -> None:
    both = permissions_for(
        roles((GroupKind.COMPLAINT_HANDLING, Role.LEADER), (GroupKind.LEADERSHIP, Role.DEPUTY))
    )
    assert "incidents.accept_review" in both and "complaints.merge" in both


def test_scopes() -> None:
    assert scope_allows(frozenset({"org:read"}), "org.read")
    assert not scope_allows(frozenset({"org:read"}), "org.manage")
    assert scope_allows(frozenset({"org:write"}), "org.manage")
    assert not scope_allows(frozenset({"audit:read"}), "org.read")
    assert unknown_scopes(["org:read", "root"]) == ["root"]
