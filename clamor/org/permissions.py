"""Who may do what, derived from the organisation (plan §3). Pure: no database, no web.

A person's permissions are the union of what each of their group roles grants, what their
department grants (legal reviews statements, IT support handles IT requests) and, for
administrators, the management permissions. The leadership group sees everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class GroupKind(StrEnum):
    LEADERSHIP = "leadership"
    COMPLAINT_HANDLING = "complaint_handling"
    OPINION_MONITORING = "opinion_monitoring"
    LOGISTICS_SUPPORT = "logistics_support"
    CUSTOM = "custom"


class Role(StrEnum):
    LEADER = "leader"
    DEPUTY = "deputy"
    MEMBER = "member"


READ_PERMISSIONS = frozenset(
    {
        "dashboard.read",
        "org.read",
        "complaints.read",
        "monitoring.read",
        "incidents.read",
        "audit.read",
    }
)

COMPLAINT_MEMBER = frozenset(
    {
        "dashboard.read",
        "org.read",
        "complaints.read",
        "complaints.handle",
        "incidents.read",
        "incidents.report",
        "incidents.respond",
        "tasks.acknowledge",
        "tasks.complete",
    }
)
COMPLAINT_DEPUTY = COMPLAINT_MEMBER | {
    "complaints.assign",
    "complaints.close",
    "complaints.escalate",
    "complaints.reveal_pii",
}
COMPLAINT_LEADER = COMPLAINT_DEPUTY | {
    "complaints.merge",
    "complaints.configure",
    "incidents.assess",
    "incidents.instruct",
    "incidents.resolve",
    "incidents.review",
    "incidents.cancel",
    "incidents.close",
    "incidents.merge",
}

MONITORING_MEMBER = frozenset(
    {
        "dashboard.read",
        "org.read",
        "monitoring.read",
        "incidents.read",
        "incidents.report",
        "incidents.respond",
        "statements.draft",
        "tasks.acknowledge",
        "tasks.complete",
    }
)
MONITORING_DEPUTY = MONITORING_MEMBER | {"monitoring.manage"}
MONITORING_LEADER = MONITORING_DEPUTY | {"statements.publish", "incidents.review"}

LOGISTICS_MEMBER = frozenset(
    {
        "dashboard.read",
        "org.read",
        "incidents.read",
        "support.handle",
        "tasks.acknowledge",
        "tasks.complete",
    }
)

LEADERSHIP_MEMBER = READ_PERMISSIONS | {
    "dashboard.leadership",  # the leadership panel on the home dashboard (levels I–II)
    "incidents.report",
    "incidents.review",
    "statements.approve",
}
LEADERSHIP_DEPUTY = LEADERSHIP_MEMBER | {"incidents.accept_review"}
LEADERSHIP_LEADER = LEADERSHIP_DEPUTY | {
    "statements.approve_major",
    "incidents.close",
    "complaints.reveal_pii",
    "incidents.cancel",
}

CUSTOM_MEMBER = frozenset({"dashboard.read", "org.read", "tasks.acknowledge", "tasks.complete"})

GROUP_ROLE_PERMISSIONS: dict[tuple[GroupKind, Role], frozenset[str]] = {
    (GroupKind.LEADERSHIP, Role.LEADER): LEADERSHIP_LEADER,
    (GroupKind.LEADERSHIP, Role.DEPUTY): LEADERSHIP_DEPUTY,
    (GroupKind.LEADERSHIP, Role.MEMBER): LEADERSHIP_MEMBER,
    (GroupKind.COMPLAINT_HANDLING, Role.LEADER): COMPLAINT_LEADER,
    (GroupKind.COMPLAINT_HANDLING, Role.DEPUTY): COMPLAINT_DEPUTY,
    (GroupKind.COMPLAINT_HANDLING, Role.MEMBER): COMPLAINT_MEMBER,
    (GroupKind.OPINION_MONITORING, Role.LEADER): MONITORING_LEADER,
    (GroupKind.OPINION_MONITORING, Role.DEPUTY): MONITORING_DEPUTY,
    (GroupKind.OPINION_MONITORING, Role.MEMBER): MONITORING_MEMBER,
    (GroupKind.LOGISTICS_SUPPORT, Role.LEADER): LOGISTICS_MEMBER,
    (GroupKind.LOGISTICS_SUPPORT, Role.DEPUTY): LOGISTICS_MEMBER,
    (GroupKind.LOGISTICS_SUPPORT, Role.MEMBER): LOGISTICS_MEMBER,
    (GroupKind.CUSTOM, Role.LEADER): CUSTOM_MEMBER,
    (GroupKind.CUSTOM, Role.DEPUTY): CUSTOM_MEMBER,
    (GroupKind.CUSTOM, Role.MEMBER): CUSTOM_MEMBER,
}

DEPARTMENT_PERMISSIONS: dict[str, frozenset[str]] = {
    "legal": frozenset({"statements.legal_review", "incidents.read"}),
    "it_support": frozenset({"support.handle", "incidents.read"}),
}

ADMIN_PERMISSIONS = frozenset(
    {
        "dashboard.read",
        "dashboard.leadership",
        "org.read",
        "org.manage",
        "users.manage",
        "audit.read",
        "settings.manage",
        "complaints.configure",
    }
)


@dataclass(frozen=True)
class GroupRole:
    group_kind: GroupKind
    role: Role


def permissions_for(
    group_roles: Iterable[GroupRole],
    department_key: str | None = None,
    *,
    is_admin: bool = False,
) -> frozenset[str]:
    granted: set[str] = set()
    for group_role in group_roles:
        granted |= GROUP_ROLE_PERMISSIONS[(group_role.group_kind, group_role.role)]
    if department_key:
        granted |= DEPARTMENT_PERMISSIONS.get(department_key, frozenset())
    if is_admin:
        granted |= ADMIN_PERMISSIONS
    return frozenset(granted)
