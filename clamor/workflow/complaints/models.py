"""Tables of complaint cases: the case, its complainant (personal data encrypted at rest), its
timeline, communications, attachments, and the API's idempotency records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clamor.storage.base import Base, PortableJSON
from clamor.storage.crypto import EncryptedText


class Complainant(Base):
    """Who complained. Name, phone, e-mail and ID number are encrypted; the normalised phone and
    e-mail are also kept as keyed hashes, to find repeats and to check a status look-up."""

    __tablename__ = "complainants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(EncryptedText())
    phone: Mapped[str | None] = mapped_column(EncryptedText())
    email: Mapped[str | None] = mapped_column(EncryptedText())
    id_number: Mapped[str | None] = mapped_column(EncryptedText())
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    created_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]


class ComplaintCase(Base):
    __tablename__ = "complaint_cases"
    __table_args__ = (
        # Inbox: newest first, keyset on id, one index per common filter.
        Index("ix_complaint_cases_status_id", "status", "id"),
        Index("ix_complaint_cases_priority_id", "priority", "id"),
        Index("ix_complaint_cases_category_id", "category", "id"),
        Index("ix_complaint_cases_channel_id", "channel", "id"),
        Index("ix_complaint_cases_assignee_user_id_id", "assignee_user_id", "id"),
        Index("ix_complaint_cases_sla_state_id", "sla_state", "id"),
        Index("ix_complaint_cases_sla_check_at", "sla_check_at"),
        Index("ix_complaint_cases_received_at", "received_at"),
        # Near-duplicate text: four 16-bit bands of the SimHash (pigeonhole: ≤ 3 differing bits
        # means at least one band is equal).
        Index("ix_complaint_cases_dup_band0", "dup_band0"),
        Index("ix_complaint_cases_dup_band1", "dup_band1"),
        Index("ix_complaint_cases_dup_band2", "dup_band2"),
        Index("ix_complaint_cases_dup_band3", "dup_band3"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    complainant_id: Mapped[int | None] = mapped_column(ForeignKey("complainants.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(Integer, default=0)
    p_negative: Mapped[float] = mapped_column(Float, default=0.0)
    assignee_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # SLA: facts (when things happened, pauses) and what they mean now (due times, state).
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    sla_cycle: Mapped[int] = mapped_column(Integer, default=0)
    cycle_started_at: Mapped[datetime | None]
    pauses: Mapped[list[Any]] = mapped_column(PortableJSON)  # [[start iso, end iso | null], …]
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    sla_state: Mapped[str] = mapped_column(String(16))
    # When the SLA sweep must look at the case again (its next warning or breach); None: at the
    # next sweep (new cases, and every open case after a policy or company-day change).
    sla_check_at: Mapped[datetime | None]
    # Links: repeat of an earlier case (and why), merged into another, escalated to an incident.
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_cases.id"))
    repeat_reason: Mapped[str | None] = mapped_column(String(16))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_cases.id"))
    incident_id: Mapped[int | None] = mapped_column(Integer)
    dup_band0: Mapped[int | None] = mapped_column(Integer)
    dup_band1: Mapped[int | None] = mapped_column(Integer)
    dup_band2: Mapped[int | None] = mapped_column(Integer)
    dup_band3: Mapped[int | None] = mapped_column(Integer)
    dup_hash: Mapped[str | None] = mapped_column(String(16))

    complainant: Mapped[Complainant | None] = relationship(lazy="joined")


class SearchTerm(Base):
    """The search index: one row per term (CJK character bigram or Latin word) of a case's
    subject and text (see `search.py`). Keyed (term, case_id): one term's cases are one index
    range, walked newest-first."""

    __tablename__ = "complaint_search_terms"
    __table_args__ = ({"sqlite_with_rowid": False},)

    # Compared bytewise ("C" on PostgreSQL, SQLite's default): a prefix is one index range.
    term: Mapped[str] = mapped_column(
        String(32).with_variant(String(32, collation="C"), "postgresql"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), primary_key=True)


class CaseEvent(Base):
    """The status history: every action taken on a case, with who and why."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]


class Communication(Base):
    """A call, message, e-mail or reply to or from the complainant, or an internal note."""

    __tablename__ = "complaint_communications"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    at: Mapped[datetime]
    direction: Mapped[str] = mapped_column(String(8))  # in | out | internal
    kind: Mapped[str] = mapped_column(String(16))  # call | message | email | reply | note
    author: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)


class Attachment(Base):
    __tablename__ = "complaint_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class IdempotencyRecord(Base):
    """An API request made with an `Idempotency-Key`: the same key again gets the same answer."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class SlaPolicyRow(Base):
    """An SLA policy edited in the UI: budgets for one priority, either its default (`category`
    "*") or for one risk category. No rows: the defaults in `clamor.workflow.sla` apply."""

    __tablename__ = "complaint_sla_policies"
    __table_args__ = (UniqueConstraint("priority", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    priority: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))  # a RiskCategory, or "*"
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    clock: Mapped[str] = mapped_column(String(16))  # business | 24x7
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))


class ReplyTemplateRow(Base):
    """A reply template edited in the UI; it replaces the shipped one of its kind and language."""

    __tablename__ = "complaint_reply_templates"
    __table_args__ = (UniqueConstraint("kind", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))


class CompanyDay(Base):
    """A day of the company's own calendar, on top of the public holidays and make-up workdays:
    closed (a company anniversary, a move) or an extra working day. Complaint deadlines count
    on the calendar these make (`sla_service.business_calendar`); edited in the UI."""

    __tablename__ = "company_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # closed | workday
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
