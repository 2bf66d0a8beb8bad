"""The inbox query: filters, search and keyset pagination (newest first, `before_id`).

Search is a substring match on the complaint's subject and text, so two-character Chinese words
(退款, 噪音) are found — FTS5's trigram tokenizer cannot match fewer than three characters, so on
SQLite this is LIKE on the base table; on PostgreSQL it is ILIKE. Both walk the id index
newest-first and stop at a page, so a common word is quick and a rare one costs a scan.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from clamor.core.errors import ValidationError
from clamor.intake.models import Item
from clamor.workflow.complaints.models import ComplaintCase
from clamor.workflow.complaints.sla_service import SLA_STATES
from clamor.workflow.complaints.states import CaseState
from clamor.workflow.vocabulary import Priority, RiskCategory

PAGE_SIZE = 50
MAX_SEARCH = 100


@dataclass(frozen=True)
class InboxFilter:
    status: str | None = None
    category: str | None = None
    priority: str | None = None
    channel: str | None = None
    assignee_user_id: int | None = None
    sla_state: str | None = None
    search: str | None = None
    before_id: int | None = None


def _one_of(value: str | None, allowed: list[str], field: str) -> None:
    if value is not None and value not in allowed:
        raise ValidationError(f"{field} must be one of {', '.join(allowed)}", field=field)


def validate(filters: InboxFilter) -> None:
    _one_of(filters.status, [s.value for s in CaseState], "status")
    _one_of(filters.category, [c.value for c in RiskCategory], "category")
    _one_of(filters.priority, [p.value for p in Priority], "priority")
    _one_of(filters.sla_state, list(SLA_STATES), "sla_state")
    if filters.search and len(filters.search) > MAX_SEARCH:
        raise ValidationError(f"search is longer than {MAX_SEARCH} characters", field="search")


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _query(session: Session, filters: InboxFilter) -> Select[tuple[ComplaintCase]]:
    query = select(ComplaintCase)
    for column, value in (
        (ComplaintCase.status, filters.status),
        (ComplaintCase.category, filters.category),
        (ComplaintCase.priority, filters.priority),
        (ComplaintCase.channel, filters.channel),
        (ComplaintCase.assignee_user_id, filters.assignee_user_id),
        (ComplaintCase.sla_state, filters.sla_state),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.before_id is not None:
        query = query.where(ComplaintCase.id < filters.before_id)
    term = (filters.search or "").strip()
    if term:
        pattern = _like_pattern(term)
        postgres = session.get_bind().dialect.name == "postgresql"
        query = query.join(Item, Item.id == ComplaintCase.item_id)
        if postgres:
            match = or_(
                Item.text.ilike(pattern, escape="\\"),
                ComplaintCase.subject.ilike(pattern, escape="\\"),
            )
        else:
            match = or_(
                Item.text.like(pattern, escape="\\"),
                ComplaintCase.subject.like(pattern, escape="\\"),
            )
        query = query.where(match)
    return query


def list_cases(
    session: Session, filters: InboxFilter, limit: int = PAGE_SIZE
) -> tuple[list[ComplaintCase], int | None]:
    """A page of cases, newest first, and the `before_id` of the next page (None at the end)."""
    validate(filters)
    query = _query(session, filters).order_by(ComplaintCase.id.desc()).limit(limit + 1)
    cases = list(session.scalars(query).unique())
    more = len(cases) > limit
    cases = cases[:limit]
    return cases, (cases[-1].id if more and cases else None)
