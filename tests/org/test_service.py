import pytest
from sqlalchemy import func, select

from clamor.audit.models import AuditEntry
from clamor.core.errors import NotFoundError, PermissionDenied, ValidationError
from clamor.core.principal import SYSTEM, Principal
from clamor.org import service as org
from clamor.org.document import dump_org_yaml
from clamor.storage.database import Database
from tests.conftest import RoleUsers

NOBODY = Principal(user_id=None, username="nobody", display_name="nobody")


def members(db: Database, group_key: str) -> list[tuple[str, str]]:
    with db.read() as session:
        document = org.export_document(session)
    group = next(g for g in document.groups if g.key == group_key)
    return [(m.person, m.role) for m in group.members]


def audit_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_edit_members_and_each_change_is_audited(db: Database, seeded: RoleUsers) -> None:
    before = audit_count(db)
    with db.write() as session:
        org.add_member(session, SYSTEM, "opinion_monitoring", "cs_rep", "member")
    with db.write() as session:
        org.change_role(session, SYSTEM, "opinion_monitoring", "cs_rep", "deputy")
    assert ("cs_rep", "deputy") in members(db, "opinion_monitoring")
    with db.write() as session:
        org.remove_member(session, SYSTEM, "opinion_monitoring", "cs_rep")
    assert "cs_rep" not in [p for p, _ in members(db, "opinion_monitoring")]
    with db.read() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-3:] == ["org.member.add", "org.member.role", "org.member.remove"]
    assert audit_count(db) == before + 3


def test_a_group_has_one_leader(db: Database, seeded: RoleUsers) -> None:
    with pytest.raises(ValidationError, match="already has a leader"), db.write() as session:
        org.change_role(session, SYSTEM, "leadership", "marketing_manager", "leader")
    assert ("marketing_manager", "deputy") in members(db, "leadership")


def test_refusals_change_nothing(db: Database, seeded: RoleUsers) -> None:
    before, snapshot = audit_count(db), members(db, "leadership")
    with pytest.raises(PermissionDenied), db.write() as session:
        org.add_member(session, NOBODY, "leadership", "cs_rep", "member")
    with pytest.raises(NotFoundError, match="no person 'ghost'"), db.write() as session:
        org.add_member(session, SYSTEM, "leadership", "ghost", "member")
    with pytest.raises(ValidationError, match="role must be one of"), db.write() as session:
        org.add_member(session, SYSTEM, "leadership", "cs_rep", "chief")
    with pytest.raises(ValidationError, match="already in this group"), db.write() as session:
        org.add_member(session, SYSTEM, "leadership", "gm", "member")
    assert members(db, "leadership") == snapshot and audit_count(db) == before


def test_import_replaces_the_whole_organisation(db: Database, seeded: RoleUsers) -> None:
    with db.read() as session:
        document = org.export_document(session)
    smaller = dump_org_yaml(document).split("- key: logistics_support")[0]  # drop the last group
    with db.write() as session:
        org.import_yaml(session, SYSTEM, smaller)
    with db.read() as session:
        assert [g.key for g in org.export_document(session).groups] == [
            "leadership",
            "complaint_handling",
            "opinion_monitoring",
        ]
        # the logins stay linked to their people
        assert {p.user for p in org.export_document(session).people if p.user} == {
            "gm",
            "cs_manager",
            "cs_rep",
            "pr_manager",
            "analyst",
            "legal",
        }


def test_a_bad_import_changes_nothing(db: Database, seeded: RoleUsers) -> None:
    with db.read() as session:
        original = org.export_document(session)
    broken = dump_org_yaml(original).replace("user: gm", "user: ghost")
    with pytest.raises(ValidationError, match=r"unknown user.*ghost"), db.write() as session:
        org.import_yaml(session, SYSTEM, broken)
    with db.read() as session:
        assert org.export_document(session) == original


def test_principal_gets_permissions_from_group_roles(db: Database, seeded: RoleUsers) -> None:
    from clamor.accounts import service as accounts

    with db.read() as session:
        cs_manager = org.principal_for(session, accounts.get_user(session, "cs_manager"))
        legal = org.principal_for(session, accounts.get_user(session, "legal"))
        scoped = org.principal_for(
            session, accounts.get_user(session, "gm"), frozenset({"org:read"})
        )
    assert cs_manager.can("incidents.assess") and cs_manager.can("complaints.assign")
    assert legal.can("statements.legal_review")  # from the legal department
    assert scoped.permissions == frozenset({"org.read"})


def test_update_person_links_a_login_once(db: Database, seeded: RoleUsers) -> None:
    with pytest.raises(ValidationError, match="already linked"), db.write() as session:
        org.update_person(
            session, SYSTEM, "cs_rep", name="X", email=None, phone=None, username="gm"
        )
    with pytest.raises(ValidationError, match="name must not be empty"), db.write() as session:
        org.update_person(
            session, SYSTEM, "cs_rep", name=" ", email=None, phone=None, username=None
        )
