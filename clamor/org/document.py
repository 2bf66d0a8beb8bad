"""The organisation as a document (YAML), validated before anything is stored. Pure.

Every error names the line and the field (`line 12: groups[1].members[0].role: must be one of
leader, deputy, member`), found by walking YAML's node tree, which keeps line numbers, rather
than the plain data, which does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from clamor.core.errors import ValidationError
from clamor.core.i18n import LANGUAGES
from clamor.org.permissions import GroupKind, Role

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
DOCUMENT_VERSION = 1


@dataclass(frozen=True)
class DepartmentDoc:
    key: str
    name: dict[str, str]


@dataclass(frozen=True)
class PersonDoc:
    key: str
    name: str
    title: dict[str, str]
    department: str | None = None
    email: str | None = None
    phone: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class MemberDoc:
    person: str
    role: str


@dataclass(frozen=True)
class GroupDoc:
    key: str
    kind: str
    name: dict[str, str]
    duties: dict[str, str]
    members: tuple[MemberDoc, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class OrgDocument:
    departments: tuple[DepartmentDoc, ...]
    people: tuple[PersonDoc, ...]
    groups: tuple[GroupDoc, ...]

    def user_names(self) -> set[str]:
        return {person.user for person in self.people if person.user}


class _Reader:
    """Reads typed values out of YAML nodes, raising errors that carry line and path."""

    def fail(self, node: yaml.Node, path: str, problem: ValidationError) -> ValidationError:
        """The error at `node`: its line, its path and `problem` (a keyed `error.org.doc.…`
        that is never raised by itself, so its words follow the reader's language)."""
        line = node.start_mark.line + 1
        return ValidationError.keyed("error.org.yaml_at", field=path, line=line, problem=problem)

    def mapping(self, node: yaml.Node, path: str) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, ValidationError.keyed("error.org.doc.not_mapping"))
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(
                    key_node, path, ValidationError.keyed("error.org.doc.not_plain_key")
                )
            if key in result:
                raise self.fail(
                    key_node, f"{path}.{key}", ValidationError.keyed("error.org.doc.twice")
                )
            result[key] = value_node
        return result

    def only_keys(
        self, node: yaml.Node, path: str, items: dict[str, yaml.Node], allowed: set[str]
    ) -> None:
        for key, value in items.items():
            if key not in allowed:
                unknown = ValidationError.keyed(
                    "error.org.doc.unknown_field", allowed=", ".join(sorted(allowed))
                )
                raise self.fail(value, f"{path}.{key}", unknown)

    def sequence(self, node: yaml.Node | None, path: str) -> list[yaml.Node]:
        if node is None:
            return []
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, path, ValidationError.keyed("error.org.doc.not_list"))
        return list(node.value)

    def text(
        self,
        items: dict[str, yaml.Node],
        name: str,
        parent: yaml.Node,
        path: str,
        *,
        required: bool = True,
    ) -> str | None:
        node = items.get(name)
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            if required:
                raise self.fail(
                    parent, f"{path}.{name}", ValidationError.keyed("error.org.doc.required")
                )
            return None
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{path}.{name}", ValidationError.keyed("error.org.doc.not_text"))
        value = str(node.value).strip()
        if required and not value:
            raise self.fail(node, f"{path}.{name}", ValidationError.keyed("error.org.doc.empty"))
        return value or None

    def key(self, items: dict[str, yaml.Node], parent: yaml.Node, path: str) -> str:
        value = self.text(items, "key", parent, path)
        assert value is not None
        if not KEY_PATTERN.match(value):
            raise self.fail(
                items["key"], f"{path}.key", ValidationError.keyed("error.org.doc.bad_key")
            )
        return value

    def localised(
        self, items: dict[str, yaml.Node], name: str, parent: yaml.Node, path: str
    ) -> dict[str, str]:
        node = items.get(name)
        if node is None:
            raise self.fail(
                parent, f"{path}.{name}", ValidationError.keyed("error.org.doc.required")
            )
        if isinstance(node, yaml.ScalarNode):  # one text for both languages
            value = str(node.value).strip()
            if not value:
                raise self.fail(
                    node, f"{path}.{name}", ValidationError.keyed("error.org.doc.empty")
                )
            return dict.fromkeys(LANGUAGES, value)
        texts = self.mapping(node, f"{path}.{name}")
        self.only_keys(node, f"{path}.{name}", texts, set(LANGUAGES))
        result = {
            lang: self.text(texts, lang, node, f"{path}.{name}", required=False)
            for lang in LANGUAGES
        }
        present = {lang: value for lang, value in result.items() if value}
        if not present:
            raise self.fail(
                node,
                f"{path}.{name}",
                ValidationError.keyed("error.org.doc.no_language", languages=", ".join(LANGUAGES)),
            )
        return present


def parse_org_yaml(source: str) -> OrgDocument:
    """Parse and validate; raise ValidationError naming the line and field of the first error."""
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark:
            raise ValidationError.keyed(
                "error.org.yaml_invalid_at", field="yaml", line=mark.line + 1, problem=problem
            ) from exc
        raise ValidationError.keyed(
            "error.org.yaml_invalid", field="yaml", problem=problem
        ) from exc
    if root is None:
        raise ValidationError.keyed("error.org.yaml_empty", field="yaml")
    reader = _Reader()
    top = reader.mapping(root, "document")
    reader.only_keys(root, "document", top, {"version", "departments", "people", "groups"})
    version = top.get("version")
    if version is not None and str(version.value) != str(DOCUMENT_VERSION):
        raise reader.fail(
            version,
            "version",
            ValidationError.keyed("error.org.doc.bad_version", version=DOCUMENT_VERSION),
        )
    departments = tuple(_departments(reader, top.get("departments")))
    people = tuple(_people(reader, top.get("people"), {d.key for d in departments}))
    groups = tuple(_groups(reader, top.get("groups"), {p.key for p in people}))
    return OrgDocument(departments=departments, people=people, groups=groups)


def _unique(reader: _Reader, seen: set[str], value: str, node: yaml.Node, path: str) -> None:
    if value in seen:
        raise reader.fail(
            node, path, ValidationError.keyed("error.org.doc.used_twice", value=value)
        )
    seen.add(value)


def _departments(reader: _Reader, node: yaml.Node | None) -> list[DepartmentDoc]:
    result, seen = [], set[str]()
    for index, item in enumerate(reader.sequence(node, "departments")):
        path = f"departments[{index}]"
        fields = reader.mapping(item, path)
        reader.only_keys(item, path, fields, {"key", "name"})
        key = reader.key(fields, item, path)
        _unique(reader, seen, key, fields["key"], f"{path}.key")
        result.append(DepartmentDoc(key=key, name=reader.localised(fields, "name", item, path)))
    return result


EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _people(reader: _Reader, node: yaml.Node | None, departments: set[str]) -> list[PersonDoc]:
    result, seen, users = [], set[str](), set[str]()
    allowed = {"key", "name", "title", "department", "email", "phone", "user"}
    for index, item in enumerate(reader.sequence(node, "people")):
        path = f"people[{index}]"
        fields = reader.mapping(item, path)
        reader.only_keys(item, path, fields, allowed)
        key = reader.key(fields, item, path)
        _unique(reader, seen, key, fields["key"], f"{path}.key")
        department = reader.text(fields, "department", item, path, required=False)
        if department and department not in departments:
            raise reader.fail(
                fields["department"],
                f"{path}.department",
                ValidationError.keyed("error.org.doc.no_department", department=department),
            )
        email = reader.text(fields, "email", item, path, required=False)
        if email and not EMAIL_PATTERN.match(email):
            raise reader.fail(
                fields["email"],
                f"{path}.email",
                ValidationError.keyed("error.org.doc.bad_email", email=email),
            )
        user = reader.text(fields, "user", item, path, required=False)
        if user:
            _unique(reader, users, user, fields["user"], f"{path}.user")
        title = reader.localised(fields, "title", item, path) if "title" in fields else {}
        result.append(
            PersonDoc(
                key=key,
                name=reader.text(fields, "name", item, path) or "",
                title=title,
                department=department,
                email=email,
                phone=reader.text(fields, "phone", item, path, required=False),
                user=user,
            )
        )
    return result


def _groups(reader: _Reader, node: yaml.Node | None, people: set[str]) -> list[GroupDoc]:
    result, seen = [], set[str]()
    kinds = [kind.value for kind in GroupKind]
    roles = [role.value for role in Role]
    for index, item in enumerate(reader.sequence(node, "groups")):
        path = f"groups[{index}]"
        fields = reader.mapping(item, path)
        reader.only_keys(item, path, fields, {"key", "kind", "name", "duties", "members"})
        key = reader.key(fields, item, path)
        _unique(reader, seen, key, fields["key"], f"{path}.key")
        kind = reader.text(fields, "kind", item, path, required=False) or GroupKind.CUSTOM.value
        if kind not in kinds:
            raise reader.fail(
                fields["kind"],
                f"{path}.kind",
                ValidationError.keyed("error.org.doc.not_one_of", allowed=", ".join(kinds)),
            )
        members, member_seen, leaders = [], set[str](), 0
        for m_index, m_item in enumerate(reader.sequence(fields.get("members"), f"{path}.members")):
            m_path = f"{path}.members[{m_index}]"
            m_fields = reader.mapping(m_item, m_path)
            reader.only_keys(m_item, m_path, m_fields, {"person", "role"})
            person = reader.text(m_fields, "person", m_item, m_path) or ""
            if person not in people:
                raise reader.fail(
                    m_fields["person"],
                    f"{m_path}.person",
                    ValidationError.keyed("error.org.doc.no_person", person=person),
                )
            _unique(reader, member_seen, person, m_fields["person"], f"{m_path}.person")
            role = reader.text(m_fields, "role", m_item, m_path) or ""
            if role not in roles:
                raise reader.fail(
                    m_fields["role"],
                    f"{m_path}.role",
                    ValidationError.keyed("error.org.doc.not_one_of", allowed=", ".join(roles)),
                )
            leaders += role == Role.LEADER
            if leaders > 1:
                raise reader.fail(
                    m_fields["role"],
                    f"{m_path}.role",
                    ValidationError.keyed("error.org.doc.two_leaders"),
                )
            members.append(MemberDoc(person=person, role=role))
        result.append(
            GroupDoc(
                key=key,
                kind=kind,
                name=reader.localised(fields, "name", item, path),
                duties=reader.localised(fields, "duties", item, path) if "duties" in fields else {},
                members=tuple(members),
            )
        )
    return result


def dump_org_yaml(document: OrgDocument) -> str:
    data: dict[str, Any] = {
        "version": DOCUMENT_VERSION,
        "departments": [{"key": d.key, "name": d.name} for d in document.departments],
        "people": [
            {
                key: value
                for key, value in {
                    "key": p.key,
                    "name": p.name,
                    "title": p.title or None,
                    "department": p.department,
                    "email": p.email,
                    "phone": p.phone,
                    "user": p.user,
                }.items()
                if value is not None
            }
            for p in document.people
        ],
        "groups": [
            {
                "key": g.key,
                "kind": g.kind,
                "name": g.name,
                "duties": g.duties,
                "members": [{"person": m.person, "role": m.role} for m in g.members],
            }
            for g in document.groups
        ],
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
