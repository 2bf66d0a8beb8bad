"""Full-text search of complaint cases: a portable posting table, the same on SQLite and PostgreSQL.

Each case's subject and text are cut into *terms*, one row per (term, case) in
`complaint_search_terms` (primary key `(term, case_id)`, so one term's cases are one index range,
newest last):

- a run of Chinese/Japanese/Korean characters gives its character **bigrams** (退款流程 → 退款,
  款流, 流程), so a two-character word like 退款 or 噪音 is one index look-up;
- any other run of letters and digits is one **word** (lowercased, at most 32 characters).

Text is NFKC-folded and lowercased first (ＲＥＦＵＮＤ → refund). A query is split on spaces into
terms that must *all* match (AND). A term matches a case when it occurs in the case's folded
subject or text as a substring — except that its Latin words must be whole words (`refund` does
not find `refunds`). The index narrows the candidates (the rarest of the term's index terms walks
its posting list newest-first, the others are probed by primary key) and every candidate is then
checked in Python against the folded text, so the answer is exact and the same on both
databases. A term with nothing to index (a single Chinese character, punctuation) falls back to a
substring scan, bounded by the other filters and terms.

The postings are written when a case is created (`index_cases`, in bulk) and rewritten when its
text changes (`reindex_case`: erasure of the complainant's data removes the erased words).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from clamor.core.errors import ValidationError
from clamor.intake.models import Item
from clamor.workflow.complaints.models import ComplaintCase, SearchTerm

MAX_TERM = 32
MAX_QUERY_TERMS = 10
# Index terms per query term used to narrow the candidates (the rarest ones); the rest is checked.
PROBES = 4
# Postings counted per index term to find the rarest (a bound keeps a common term cheap).
COUNT_BOUND = 20_000
# At most this many of a long query's index terms are counted (any subset narrows correctly).
MAX_COUNTED = 16

_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B–G
)
_TOKENS = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")


def fold(text: str) -> str:
    """The form that is indexed and searched: NFKC (full-width → ASCII) and lowercased."""
    return unicodedata.normalize("NFKC", text).lower()


def _terms_of_folded(folded: str) -> set[str]:
    terms: set[str] = set()
    for cjk, word in _TOKENS.findall(folded):
        if cjk:
            terms.update(cjk[i : i + 2] for i in range(len(cjk) - 1))
        else:
            terms.add(word[:MAX_TERM])
    return terms


def _words_of_folded(folded: str) -> set[str]:
    return {word[:MAX_TERM] for _, word in _TOKENS.findall(folded) if word}


def terms_of(text: str) -> set[str]:
    """The index terms of a text: CJK bigrams and Latin/digit words."""
    return _terms_of_folded(fold(text))


def document(subject: str, text: str) -> str:
    """What is searched for one case: its subject and its text."""
    return f"{subject}\n{text}"


@dataclass(frozen=True)
class QueryTerm:
    text: str  # folded; must occur in the folded document
    index_terms: frozenset[str]  # must all be in the case's postings (may be empty)
    words: frozenset[str]  # its Latin/digit words: whole words of the document


def parse_query(query: str) -> list[QueryTerm]:
    """Terms of a query (split on any space, AND); ValidationError naming `search`."""
    parts = list(dict.fromkeys(fold(query).split()))
    if len(parts) > MAX_QUERY_TERMS:
        raise ValidationError(
            f"search has more than {MAX_QUERY_TERMS} words; leave some out", field="search"
        )
    return [
        QueryTerm(part, frozenset(_terms_of_folded(part)), frozenset(_words_of_folded(part)))
        for part in parts
    ]


def matches(terms: Sequence[QueryTerm], subject: str, text: str) -> bool:
    """The exact check behind the index: every term occurs in the folded document, and each of
    its Latin words is a whole word of it."""
    folded = fold(document(subject, text))
    if not all(term.text in folded for term in terms):
        return False
    words = {w for term in terms for w in term.words}
    return not words or words <= _words_of_folded(folded)


# --- writing postings -------------------------------------------------------------------------


def _insert(session: Session, pairs: list[tuple[str, int]]) -> None:
    """(term, case id) rows — tens of thousands per batch of complaints — straight to the driver:
    COPY on PostgreSQL, executemany on SQLite; no per-row work in SQLAlchemy."""
    if not pairs:
        return
    connection = session.connection()
    columns = f"{SearchTerm.__tablename__} (term, case_id)"
    if connection.dialect.name == "postgresql":
        raw = connection.connection.dbapi_connection  # psycopg 3, in this transaction
        with raw.cursor() as cursor, cursor.copy(f"COPY {columns} FROM STDIN") as copy:  # type: ignore[union-attr]
            for pair in pairs:
                copy.write_row(pair)
        return
    statement = f"INSERT INTO {columns} VALUES (?, ?)"
    for start in range(0, len(pairs), 20_000):
        connection.exec_driver_sql(statement, pairs[start : start + 20_000])


def index_cases(session: Session, documents: Iterable[tuple[int, str, str]]) -> int:
    """Postings of new cases, given as (case id, subject, text); returns the rows written."""
    pairs = [
        (term, case_id)
        for case_id, subject, text in documents
        for term in terms_of(document(subject, text))
    ]
    _insert(session, pairs)
    return len(pairs)


def reindex_case(
    session: Session, case_id: int, old: tuple[str, str], new: tuple[str, str]
) -> None:
    """Rewrite one case's postings after its (subject, text) changed from `old` to `new`. The
    postings are keyed by (term, case), so the old text names every row to remove: nothing of an
    erased text stays findable. (A change of the tokenizer rebuilds the table: `rebuild`.)"""
    fresh = terms_of(document(*new))
    touched = sorted(terms_of(document(*old)) | fresh)
    for start in range(0, len(touched), 500):
        session.execute(
            delete(SearchTerm).where(
                SearchTerm.case_id == case_id, SearchTerm.term.in_(touched[start : start + 500])
            )
        )
    _insert(session, [(t, case_id) for t in sorted(fresh)])


def rebuild(session: Session, batch: int = 2000) -> int:
    """Drop every posting and index every case again; returns the rows written."""
    session.execute(delete(SearchTerm))
    written, last = 0, 0
    while True:
        rows = session.execute(
            select(ComplaintCase.id, ComplaintCase.subject, Item.text)
            .join(Item, Item.id == ComplaintCase.item_id)
            .where(ComplaintCase.id > last)
            .order_by(ComplaintCase.id)
            .limit(batch)
        ).all()
        if not rows:
            return written
        written += index_cases(session, [(r[0], r[1], r[2]) for r in rows])
        last = rows[-1][0]


# --- reading ----------------------------------------------------------------------------------


def postings_bound(session: Session, term: str) -> int:
    """How many cases hold `term`, counted up to COUNT_BOUND (an index range count)."""
    inner = select(SearchTerm.case_id).where(SearchTerm.term == term).limit(COUNT_BOUND)
    return int(session.scalar(select(func.count()).select_from(inner.subquery())) or 0)


def probes(session: Session, terms: Sequence[QueryTerm]) -> list[str]:
    """The index terms to narrow by, rarest first (empty: nothing indexable, scan)."""
    wanted = sorted({t for term in terms for t in term.index_terms})[:MAX_COUNTED]
    counted = sorted((postings_bound(session, t), t) for t in wanted)
    return [t for _, t in counted[:PROBES]]
