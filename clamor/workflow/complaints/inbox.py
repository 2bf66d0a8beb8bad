"""The inbox query: filters, search and keyset pagination (newest first, `before_id`).

Search uses the posting table of `search.py` (CJK bigrams, Latin words) to find candidates
newest-first, and checks each exactly; the same answer on SQLite and PostgreSQL. Two-character
Chinese words (退款, 噪音) are one index look-up, a Latin prefix (`refund` → refunds, refunded)
one index range. A query with nothing indexable (one Chinese character) scans, bounded by the
other filters; so does a very common prefix over the newest cases first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from clamor.core.errors import ValidationError
from clamor.intake.models import Item
from clamor.workflow.complaints import search
from clamor.workflow.complaints.models import ComplaintCase, SearchTerm
from clamor.workflow.complaints.sla_service import SLA_STATES
from clamor.workflow.complaints.states import CaseState
from clamor.workflow.vocabulary import Priority, RiskCategory

PAGE_SIZE = 50
MAX_SEARCH = 100
SCAN_CHUNK = 2000  # candidates read per round when many fail the exact check
# Newest cases scanned for a common prefix before its index range is read.
COMMON_SCAN = 3000


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


def _filtered(filters: InboxFilter) -> Select[tuple[ComplaintCase]]:
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
    return query


def _scan(filters: InboxFilter, terms: list[search.QueryTerm] | None = None) -> Select[Any]:
    """Cases (with their text) newest-first, narrowed by LIKE for `terms` (those with nothing to
    index: they hold no letters, so LIKE (SQLite) and ILIKE (PostgreSQL) agree); the exact
    check in Python follows either way."""
    query = _filtered(filters).add_columns(Item.text).join(Item, Item.id == ComplaintCase.item_id)
    for term in terms or ():
        pattern = _like_pattern(term.text)
        query = query.where(
            or_(
                Item.text.like(pattern, escape="\\"),
                ComplaintCase.subject.like(pattern, escape="\\"),
            )
        )
    return query


def _candidates(
    filters: InboxFilter, terms: list[search.QueryTerm], plan: search.Plan
) -> tuple[Select[Any], Any]:
    """Cases (with their text) that may match, and the id column to walk newest-first."""
    if plan.driver is None:  # nothing indexable (one Chinese character, punctuation)
        return _scan(filters, terms), ComplaintCase.id
    query = _scan(filters)
    if plan.driver.prefix:  # the cases of every term in the range, each once
        cases = (
            select(SearchTerm.case_id)
            .where(plan.driver.condition(SearchTerm.term))
            .distinct()
            .subquery("prefixed")
        )
        query = query.join(cases, cases.c.case_id == ComplaintCase.id)
        walk = cases.c.case_id
    else:
        driver = aliased(SearchTerm)
        query = query.join(
            driver, and_(driver.case_id == ComplaintCase.id, driver.term == plan.driver.term)
        )
        walk = driver.case_id
    for term in plan.checks:
        query = query.where(
            exists().where(SearchTerm.term == term, SearchTerm.case_id == ComplaintCase.id)
        )
    return query, walk


def _walk(
    session: Session,
    query: Select[Any],
    walk: Any,
    terms: list[search.QueryTerm],
    cursor: int | None,
    limit: int,
    budget: int | None = None,
) -> tuple[list[ComplaintCase], int | None, bool]:
    """Read candidates newest-first below `cursor`, keep those that match exactly, until
    `limit` are found or the candidates end (done) or `budget` rows were read (not done)."""
    found: list[ComplaintCase] = []
    chunk, read = limit, 0
    while len(found) < limit:
        if budget is not None and read >= budget:
            return found, cursor, False
        page = query if cursor is None else query.where(walk < cursor)
        rows = session.execute(page.order_by(walk.desc()).limit(chunk)).unique().all()
        found += [case for case, text in rows if search.matches(terms, case.subject, text)]
        read += len(rows)
        if len(rows) < chunk:
            return found, cursor, True
        cursor, chunk = rows[-1][0].id, min(chunk * 4, SCAN_CHUNK)
    return found, cursor, True


def _search(session: Session, filters: InboxFilter, limit: int) -> list[ComplaintCase]:
    """Up to `limit` matching cases, newest first: candidates from the index, checked exactly.
    A common prefix (`re`) first scans the newest cases, where its matches are dense, and reads
    its index range only if those do not fill the page."""
    terms = search.parse_query(filters.search or "")
    plan = search.plan(session, terms)
    found: list[ComplaintCase] = []
    cursor = filters.before_id
    if plan.common:
        found, cursor, done = _walk(
            session, _scan(filters), ComplaintCase.id, terms, cursor, limit, COMMON_SCAN
        )
        if done or len(found) >= limit:
            return found[:limit]
    query, walk = _candidates(filters, terms, plan)
    more, _, _ = _walk(session, query, walk, terms, cursor, limit - len(found))
    return (found + more)[:limit]


def list_cases(
    session: Session, filters: InboxFilter, limit: int = PAGE_SIZE
) -> tuple[list[ComplaintCase], int | None]:
    """A page of cases, newest first, and the `before_id` of the next page (None at the end)."""
    validate(filters)
    if (filters.search or "").strip():
        cases = _search(session, filters, limit + 1)
    else:
        query = _filtered(filters)
        if filters.before_id is not None:
            query = query.where(ComplaintCase.id < filters.before_id)
        query = query.order_by(ComplaintCase.id.desc()).limit(limit + 1)
        cases = list(session.scalars(query).unique())
    more = len(cases) > limit
    cases = cases[:limit]
    return cases, (cases[-1].id if more and cases else None)
