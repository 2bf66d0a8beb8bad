"""Tables of incidents (plan §4): the incident, its linked complaints, tasks and support
requests, public statements with their versions, the review report with its improvement
actions, and the admin-edited playbooks.

Links to complaint cases and monitoring alerts are plain ids (those tables live in other
domains' migrations); links to the organisation and users are foreign keys.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from clamor.storage.base import Base, PortableJSON


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_state_id", "state", "id"),
        Index("ix_incidents_level_id", "level", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # manual | complaints | alert
    alert_id: Mapped[int | None] = mapped_column(Integer, index=True)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_by: Mapped[str] = mapped_column(String(64))
    # Assessment: the three ratings, the confirmed level, and the data's opinion beside it.
    severity: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[int | None] = mapped_column(Integer)
    risk: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str | None] = mapped_column(String(4))
    level_reason: Mapped[str | None] = mapped_column(Text)
    suggested_level: Mapped[str | None] = mapped_column(String(4))
    suggested_reasons: Mapped[list[Any]] = mapped_column(PortableJSON, default=list)
    leadership_engaged_at: Mapped[datetime | None]
    # Milestones (plan §4 steps), for deadlines, metrics and the review report.
    opened_at: Mapped[datetime]
    reported_at: Mapped[datetime | None]
    assessed_at: Mapped[datetime | None]
    instructed_at: Mapped[datetime | None]
    responding_at: Mapped[datetime | None]
    first_statement_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    review_accepted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    resolution_summary: Mapped[str | None] = mapped_column(Text)
    uncontacted_reason: Mapped[str | None] = mapped_column(Text)
    end_reason: Mapped[str | None] = mapped_column(Text)  # why cancelled
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))


class IncidentComplaint(Base):
    """A complaint case linked to an incident (escalated into it or attached later)."""

    __tablename__ = "incident_complaints"
    __table_args__ = (UniqueConstraint("incident_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    case_id: Mapped[int] = mapped_column(Integer, index=True)
    linked_at: Mapped[datetime]
    linked_by: Mapped[str] = mapped_column(String(64))


class IncidentTask(Base):
    """An instruction (plan §4.3) or a support request to IT / legal (§4.5)."""

    __tablename__ = "incident_tasks"
    __table_args__ = (Index("ix_incident_tasks_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    task_type: Mapped[str] = mapped_column(String(32))
    is_support: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(Text)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16))
    time_limit_hours: Mapped[float] = mapped_column(Float)
    assigned_at: Mapped[datetime]
    due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    escalated_at: Mapped[datetime | None]


class Statement(Base):
    """A public statement (plan §4.4); its texts are `StatementVersion` rows."""

    __tablename__ = "incident_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None]
    published_version: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[str | None] = mapped_column(Text)


class StatementVersion(Base):
    __tablename__ = "incident_statement_versions"
    __table_args__ = (UniqueConstraint("statement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("incident_statements.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class ReviewReport(Base):
    """The close-out report (plan §4.6): drafted from the record, with causes and improvements,
    submitted to the leadership group, which accepts it or sends it back."""

    __tablename__ = "incident_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # draft | submitted | accepted | returned
    summary: Mapped[str] = mapped_column(Text, default="")
    causes: Mapped[str] = mapped_column(Text, default="")
    improvements: Mapped[str] = mapped_column(Text, default="")
    comments: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))


class ImprovementAction(Base):
    """An improvement the review report commits to, tracked after closing."""

    __tablename__ = "incident_improvements"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date]
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class StoredPlaybook(Base):
    """An admin-edited playbook, kept as the data `playbooks.parse_playbook` reads."""

    __tablename__ = "incident_playbooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))
