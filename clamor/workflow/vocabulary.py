"""Names shared by the workflow rules: risk categories, priorities and permission strings.

The permission strings are what each transition table names; `clamor.org.permissions` maps
group roles to them. Keeping them as constants here lets a test check that every table only uses
names from this list.
"""

from __future__ import annotations

from enum import StrEnum


class RiskCategory(StrEnum):
    """The plan's risk categories (§2), plus `other`."""

    PRODUCT_QUALITY = "product_quality"
    SERVICE_ATTITUDE = "service_attitude"
    DATA_PRIVACY = "data_privacy"
    SOCIAL_RESPONSIBILITY = "social_responsibility"
    OTHER = "other"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Perm(StrEnum):
    """Every permission string the workflow tables require."""

    COMPLAINTS_READ = "complaints.read"
    COMPLAINTS_HANDLE = "complaints.handle"
    COMPLAINTS_ASSIGN = "complaints.assign"
    COMPLAINTS_CLOSE = "complaints.close"
    COMPLAINTS_MERGE = "complaints.merge"
    COMPLAINTS_ESCALATE = "complaints.escalate"
    COMPLAINTS_REVEAL_PII = "complaints.reveal_pii"
    INCIDENTS_REPORT = "incidents.report"
    INCIDENTS_ASSESS = "incidents.assess"
    INCIDENTS_INSTRUCT = "incidents.instruct"
    INCIDENTS_RESPOND = "incidents.respond"
    INCIDENTS_RESOLVE = "incidents.resolve"
    INCIDENTS_REVIEW = "incidents.review"
    INCIDENTS_ACCEPT_REVIEW = "incidents.accept_review"
    INCIDENTS_CLOSE = "incidents.close"
    INCIDENTS_CANCEL = "incidents.cancel"
    INCIDENTS_MERGE = "incidents.merge"
    STATEMENTS_DRAFT = "statements.draft"
    STATEMENTS_LEGAL_REVIEW = "statements.legal_review"
    STATEMENTS_APPROVE = "statements.approve"
    STATEMENTS_APPROVE_MAJOR = "statements.approve_major"
    STATEMENTS_PUBLISH = "statements.publish"
    TASKS_ACKNOWLEDGE = "tasks.acknowledge"
    TASKS_COMPLETE = "tasks.complete"


ALL_PERMISSIONS: frozenset[str] = frozenset(p.value for p in Perm)
