"""The inbox query: filters, search and keyset pagination (newest first, `before_id`).

Search uses the posting table of `search.py` (CJK bigrams, Latin words) to find candidates
newest-first, and checks each exactly; the same answer on SQLite and PostgreSQL. Two-character
Chinese words (退款, 噪音) are one index look-up, a Latin prefix (`refund` → refunds, refunded)
or one Chinese character (噪) one index range. A query with nothing indexable (punctuation)
scans, bounded by the other filters; so does a very common prefix over the newest cases first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, and_, any_, bindparam, exists, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from clamor.core.errors import Term, ValidationError
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
        raise ValidationError.keyed(
            "error.complaints.one_of",
            field=field,
            name=Term(f"error.complaints.field.{field}"),
            allowed=", ".join(allowed),
        )


def validate(filters: InboxFilter) -> None:
    _one_of(filters.status, [s.value for s in CaseState], "status")
    _one_of(filters.category, [c.value for c in RiskCategory], "category")
    _one_of(filters.priority, [p.value for p in Priority], "priority")
    _one_of(filters.sla_state, list(SLA_STATES), "sla_state")
    if filters.search and len(filters.search) > MAX_SEARCH:
        raise ValidationError.keyed(
            "error.complaints.search_too_long", field="search", max=MAX_SEARCH
        )


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
    """Candidates as light rows (id, subject, text) under the filters, narrowed by LIKE for
    `terms` (those with nothing to index: they hold no letters, so LIKE (SQLite) and ILIKE
    (PostgreSQL) agree); the exact check in Python follows either way."""
    query = (
        _filtered(filters)
        .with_only_columns(ComplaintCase.id, ComplaintCase.subject, Item.text)
        .join(Item, Item.id == ComplaintCase.item_id)
    )
    for term in terms or ():
        pattern = _like_pattern(term.text)
        query = query.where(
            or_(
                Item.text.like(pattern, escape="\\"),
                ComplaintCase.subject.like(pattern, escape="\\"),
            )
        )
    return query


def _checked(query: Select[Any], plan: search.Plan) -> Select[Any]:
    """Narrow candidates by key probes: each of the plan's exact terms, and one term of each of
    its small prefixes."""
    for term in plan.checks:
        query = query.where(
            exists().where(SearchTerm.term == term, SearchTerm.case_id == ComplaintCase.id)
        )
    for terms in plan.any_of:
        query = query.where(
            exists().where(SearchTerm.term.in_(terms), SearchTerm.case_id == ComplaintCase.id)
        )
    return query


def _candidates(
    filters: InboxFilter, terms: list[search.QueryTerm], plan: search.Plan
) -> tuple[Select[Any], Any]:
    """Candidates (id, subject, text) that may match, and the id column to walk newest-first."""
    if plan.driver is None:  # nothing indexable (punctuation)
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
    query = _checked(query, plan)
    return query, walk


def _load(session: Session, ids: list[int]) -> list[ComplaintCase]:
    """The cases of `ids` (newest first), loaded once they are known to match."""
    if not ids:
        return []
    query = select(ComplaintCase).where(ComplaintCase.id.in_(ids))
    return sorted(session.scalars(query).unique(), key=lambda case: -case.id)


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
    found: list[int] = []
    chunk, read = limit, 0
    while len(found) < limit:
        if budget is not None and read >= budget:
            return _load(session, found), cursor, False
        page = query if cursor is None else query.where(walk < cursor)
        rows = session.execute(page.order_by(walk.desc()).limit(chunk)).all()
        found += [i for i, subject, text in rows if search.matches(terms, subject, text)]
        read += len(rows)
        if len(rows) < chunk:
            return _load(session, found), cursor, True
        cursor, chunk = rows[-1][0], min(chunk * 4, SCAN_CHUNK)
    return _load(session, found), cursor, True


def _walk_merged(
    session: Session,
    filters: InboxFilter,
    terms: list[search.QueryTerm],
    plan: search.Plan,
    expanded: list[str],
    limit: int,
) -> list[ComplaintCase]:
    """A prefix with few distinct terms: the newest candidate ids from their posting lists,
    merged (`search.newest_cases`), then those cases under the filters, checked exactly."""
    query = _scan(filters)
    query = _checked(query, plan)
    found: list[int] = []
    cursor, chunk = filters.before_id, limit
    if session.get_bind().dialect.name == "postgresql":  # one array parameter, not thousands
        among = ComplaintCase.id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer)))
    else:
        among = ComplaintCase.id.in_(bindparam("ids", expanding=True))
    page = query.where(among).order_by(ComplaintCase.id.desc())
    while len(found) < limit and expanded:
        ids = search.newest_cases(session, expanded, cursor, chunk)
        if ids:
            rows = session.execute(page, {"ids": ids}).all()
            found += [i for i, subject, text in rows if search.matches(terms, subject, text)]
        if len(ids) < chunk:
            break
        cursor, chunk = ids[-1], min(chunk * 4, SCAN_CHUNK)
    return _load(session, found[:limit])


def _search(session: Session, filters: InboxFilter, limit: int) -> list[ComplaintCase]:
    """Up to `limit` matching cases, newest first: candidates from the index, checked exactly.
    A prefix with few distinct terms walks their posting lists merged; one with many (`c`)
    reads its range — first scanning the newest cases if it is common (its matches are dense
    there), reading the range only below them if those do not fill the page."""
    terms = search.parse_query(filters.search or "")
    plan = search.plan(session, terms)
    if plan.driver is not None and plan.driver.prefix:
        expanded = search.expand(session, plan.driver.term)
        if expanded is not None:
            return _walk_merged(session, filters, terms, plan, expanded, limit)
    found: list[ComplaintCase] = []
    cursor = filters.before_id
    if plan.common:
        found, cursor, done = _walk(
            session,
            _checked(_scan(filters), plan),
            ComplaintCase.id,
            terms,
            cursor,
            limit,
            COMMON_SCAN,
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
