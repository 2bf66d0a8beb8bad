"""The organisation's rules: reading it, editing members and people, importing a whole document.
Every change is written to the audit log in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from clamor.accounts.models import User
from clamor.accounts.scopes import scope_allows
from clamor.audit import service as audit
from clamor.core.errors import NotFoundError, Term, ValidationError
from clamor.core.principal import Principal
from clamor.org import permissions as perms
from clamor.org.document import (
    EMAIL_PATTERN,
    DepartmentDoc,
    GroupDoc,
    MemberDoc,
    OrgDocument,
    PersonDoc,
    parse_org_yaml,
)
from clamor.org.models import Department, Group, Membership, Person
from clamor.org.permissions import GroupKind, GroupRole, Role


def group_roles_of_user(session: Session, user_id: int) -> tuple[list[GroupRole], str | None]:
    """The (group kind, role) pairs of the person linked to a user, and their department key."""
    person = session.scalar(select(Person).where(Person.user_id == user_id))
    if person is None:
        return [], None
    rows = session.execute(
        select(Group.kind, Membership.role)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.person_id == person.id)
    ).all()
    roles = [GroupRole(GroupKind(kind), Role(role)) for kind, role in rows]
    return roles, person.department.key if person.department else None


def principal_for(session: Session, user: User, scopes: frozenset[str] | None = None) -> Principal:
    """What `user` may do, from their group roles and department; narrowed by token scopes."""
    group_roles, department_key = group_roles_of_user(session, user.id)
    permissions = perms.permissions_for(group_roles, department_key, is_admin=user.is_admin)
    if scopes is not None:
        permissions = frozenset(p for p in permissions if scope_allows(scopes, p))
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        permissions=permissions,
        language=user.language,
        is_admin=user.is_admin,
        scopes=scopes,
    )


@dataclass(frozen=True)
class OrgView:
    groups: list[Group]
    people: list[Person]
    departments: list[Department]
    usernames: dict[int, str]


def load_org(session: Session) -> OrgView:
    groups = list(
        session.scalars(
            select(Group)
            .options(selectinload(Group.memberships))
            .order_by(Group.position, Group.id)
        )
    )
    people = list(session.scalars(select(Person).order_by(Person.id)))
    departments = list(session.scalars(select(Department).order_by(Department.id)))
    usernames = {user_id: name for user_id, name in session.execute(select(User.id, User.username))}
    return OrgView(groups=groups, people=people, departments=departments, usernames=usernames)


def export_document(session: Session) -> OrgDocument:
    view = load_org(session)
    people_by_id = {person.id: person for person in view.people}
    return OrgDocument(
        departments=tuple(DepartmentDoc(key=d.key, name=d.name) for d in view.departments),
        people=tuple(
            PersonDoc(
                key=p.key,
                name=p.name,
                title=p.title,
                department=p.department.key if p.department else None,
                email=p.email,
                phone=p.phone,
                user=view.usernames.get(p.user_id) if p.user_id else None,
            )
            for p in view.people
        ),
        groups=tuple(
            GroupDoc(
                key=g.key,
                kind=g.kind,
                name=g.name,
                duties=g.duties,
                members=tuple(
                    MemberDoc(person=people_by_id[m.person_id].key, role=m.role)
                    for m in g.memberships
                ),
            )
            for g in view.groups
        ),
    )


def _summary(document: OrgDocument) -> dict[str, object]:
    return {
        "departments": len(document.departments),
        "people": len(document.people),
        "groups": {g.key: [f"{m.person}:{m.role}" for m in g.members] for g in document.groups},
    }


def import_document(session: Session, actor: Principal, document: OrgDocument) -> None:
    """Make the stored organisation equal to the document, in the caller's one transaction."""
    actor.require("org.manage")
    users = {name: user_id for name, user_id in session.execute(select(User.username, User.id))}
    missing = sorted(document.user_names() - set(users))
    if missing:
        raise ValidationError.keyed(
            "error.org.unknown_users", field="user", users=", ".join(missing)
        )
    before = (
        _summary(export_document(session)) if session.scalar(select(Group.id).limit(1)) else None
    )
    departments = _sync_departments(session, document.departments)
    people = _sync_people(session, document.people, departments, users)
    _sync_groups(session, document.groups, people)
    _delete_absent(session, document)
    session.flush()
    audit.record(
        session, actor, "org.import", "organisation", "org", before=before, after=_summary(document)
    )


def import_yaml(session: Session, actor: Principal, source: str) -> OrgDocument:
    document = parse_org_yaml(source)
    import_document(session, actor, document)
    return document


def _sync_departments(session: Session, docs: tuple[DepartmentDoc, ...]) -> dict[str, Department]:
    existing = {d.key: d for d in session.scalars(select(Department))}
    for doc in docs:
        department = existing.get(doc.key) or Department(key=doc.key)
        department.name = doc.name
        session.add(department)
        existing[doc.key] = department
    session.flush()
    return existing


def _sync_people(
    session: Session,
    docs: tuple[PersonDoc, ...],
    departments: dict[str, Department],
    users: dict[str, int],
) -> dict[str, Person]:
    existing = {p.key: p for p in session.scalars(select(Person))}
    # Unlink users first, so that moving a login from one person to another in the same file
    # does not trip the unique constraint halfway.
    for person in existing.values():
        person.user_id = None
    session.flush()
    for doc in docs:
        person = existing.get(doc.key) or Person(key=doc.key)
        person.name = doc.name
        person.title = doc.title
        person.department_id = departments[doc.department].id if doc.department else None
        person.email, person.phone = doc.email, doc.phone
        person.user_id = users[doc.user] if doc.user else None
        session.add(person)
        existing[doc.key] = person
    session.flush()
    return existing


def _sync_groups(session: Session, docs: tuple[GroupDoc, ...], people: dict[str, Person]) -> None:
    existing = {
        g.key: g for g in session.scalars(select(Group).options(selectinload(Group.memberships)))
    }
    for position, doc in enumerate(docs):
        group = existing.get(doc.key) or Group(key=doc.key)
        group.kind, group.name, group.duties, group.position = (
            doc.kind,
            doc.name,
            doc.duties,
            position,
        )
        group.memberships.clear()
        session.add(group)
        session.flush()
        group.memberships.extend(
            Membership(person_id=people[m.person].id, role=m.role) for m in doc.members
        )
    session.flush()


def _delete_absent(session: Session, document: OrgDocument) -> None:
    keep_groups = {g.key for g in document.groups}
    keep_people = {p.key for p in document.people}
    keep_departments = {d.key for d in document.departments}
    for group in session.scalars(select(Group)):
        if group.key not in keep_groups:
            session.delete(group)
    session.flush()
    for person in session.scalars(select(Person)):
        if person.key not in keep_people:
            for membership in session.scalars(
                select(Membership).where(Membership.person_id == person.id)
            ):
                session.delete(membership)
            session.delete(person)
    session.flush()
    for department in session.scalars(select(Department)):
        if department.key not in keep_departments:
            session.delete(department)


# --- editing in the UI -----------------------------------------------------------------------


def _group(session: Session, key: str) -> Group:
    group = session.scalar(select(Group).where(Group.key == key))
    if group is None:
        raise NotFoundError.keyed("error.org.no_group", field="group", group=key)
    return group


def _person(session: Session, key: str) -> Person:
    person = session.scalar(select(Person).where(Person.key == key))
    if person is None:
        raise NotFoundError.keyed("error.org.no_person", field="person", person=key)
    return person


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        allowed = ", ".join(role.value for role in Role)
        raise ValidationError.keyed("error.org.role_unknown", field="role", roles=allowed) from exc


def _check_single_leader(
    session: Session, group: Group, role: Role, ignore_id: int | None = None
) -> None:
    if role is not Role.LEADER:
        return
    query = select(Membership.id).where(
        Membership.group_id == group.id, Membership.role == Role.LEADER.value
    )
    leaders = [mid for mid in session.scalars(query) if mid != ignore_id]
    if leaders:
        raise ValidationError.keyed("error.org.second_leader", field="role")


def add_member(
    session: Session, actor: Principal, group_key: str, person_key: str, role: str
) -> Membership:
    actor.require("org.manage")
    if not person_key.strip():
        raise ValidationError.keyed("error.org.person_missing", field="person")
    group, person, chosen = _group(session, group_key), _person(session, person_key), _role(role)
    duplicate = select(Membership.id).where(
        Membership.group_id == group.id, Membership.person_id == person.id
    )
    if session.scalar(duplicate) is not None:
        raise ValidationError.keyed("error.org.already_member", field="person", name=person.name)
    _check_single_leader(session, group, chosen)
    membership = Membership(group_id=group.id, person_id=person.id, role=chosen.value)
    session.add(membership)
    session.flush()
    after = {"group": group.key, "person": person.key, "role": chosen.value}
    audit.record(session, actor, "org.member.add", "group", group.key, after=after)
    return membership


def _membership(
    session: Session, group_key: str, person_key: str
) -> tuple[Group, Person, Membership]:
    group, person = _group(session, group_key), _person(session, person_key)
    membership = session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.person_id == person.id)
    )
    if membership is None:
        raise NotFoundError.keyed("error.org.not_member", field="person", name=person.name)
    return group, person, membership


def change_role(
    session: Session, actor: Principal, group_key: str, person_key: str, role: str
) -> None:
    actor.require("org.manage")
    group, person, membership = _membership(session, group_key, person_key)
    chosen = _role(role)
    _check_single_leader(session, group, chosen, ignore_id=membership.id)
    before = {"group": group.key, "person": person.key, "role": membership.role}
    membership.role = chosen.value
    audit.record(
        session,
        actor,
        "org.member.role",
        "group",
        group.key,
        before=before,
        after={**before, "role": chosen.value},
    )


def remove_member(session: Session, actor: Principal, group_key: str, person_key: str) -> None:
    actor.require("org.manage")
    group, person, membership = _membership(session, group_key, person_key)
    before = {"group": group.key, "person": person.key, "role": membership.role}
    session.delete(membership)
    audit.record(session, actor, "org.member.remove", "group", group.key, before=before)


GROUP_TEXT_LIMITS = {"name": 100, "duties": 2000}


def update_group(
    session: Session,
    actor: Principal,
    group_key: str,
    *,
    name: dict[str, str],
    duties: dict[str, str],
) -> Group:
    """Rename a group or rewrite its duties (both languages; Chinese is required)."""
    actor.require("org.manage")
    group = _group(session, group_key)
    for label, texts in (("name", name), ("duties", duties)):
        if not texts.get("zh-CN", "").strip():
            raise ValidationError.keyed(
                "error.org.chinese_empty",
                field=f"{label}_zh",
                label=Term(f"error.org.label.{label}"),
            )
        limit = GROUP_TEXT_LIMITS[label]
        for language, suffix in (("zh-CN", "zh"), ("en", "en")):
            if len(texts.get(language, "").strip()) > limit:
                raise ValidationError.keyed(
                    "error.org.too_long",
                    field=f"{label}_{suffix}",
                    label=Term(f"error.org.label.{label}_{suffix}"),
                    max=limit,
                )
    before = {"name": group.name, "duties": group.duties}
    group.name = {lang: text.strip() for lang, text in name.items() if text.strip()}
    group.duties = {lang: text.strip() for lang, text in duties.items() if text.strip()}
    after = {"name": group.name, "duties": group.duties}
    audit.record(session, actor, "org.group.update", "group", group.key, before=before, after=after)
    return group


def update_person(
    session: Session,
    actor: Principal,
    person_key: str,
    *,
    name: str,
    email: str | None,
    phone: str | None,
    username: str | None,
) -> Person:
    actor.require("org.manage")
    person = _person(session, person_key)
    if not name.strip():
        raise ValidationError.keyed("error.org.person_name_empty", field="name")
    for field, value, limit in (
        ("name", name.strip(), 200),
        ("email", email, 320),
        ("phone", phone, 64),
    ):
        if value and len(value) > limit:
            raise ValidationError.keyed(
                "error.org.too_long",
                field=field,
                label=Term(f"error.org.label.person_{field}"),
                max=limit,
            )
    if email and not EMAIL_PATTERN.match(email):
        raise ValidationError.keyed("error.org.bad_email", field="email", email=email)
    user_id = None
    if username:
        user_id = session.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            raise ValidationError.keyed(
                "error.accounts.no_user", field="username", username=username
            )
        holder = session.scalar(
            select(Person).where(Person.user_id == user_id, Person.id != person.id)
        )
        if holder is not None:
            raise ValidationError.keyed(
                "error.org.user_taken", field="username", username=username, name=holder.name
            )
    before = {
        "name": person.name,
        "email": person.email,
        "phone": person.phone,
        "user_id": person.user_id,
    }
    person.name, person.email, person.phone, person.user_id = (
        name.strip(),
        email or None,
        phone or None,
        user_id,
    )
    after = {
        "name": person.name,
        "email": person.email,
        "phone": person.phone,
        "user_id": person.user_id,
    }
    audit.record(
        session, actor, "org.person.update", "person", person.key, before=before, after=after
    )
    return person
