"""Full-text search of complaint cases: a portable posting table, the same on SQLite and PostgreSQL.

Each case's subject and text are cut into *terms*, one row per (term, case) in
`complaint_search_terms` (primary key `(term, case_id)`, so one term's cases are one index range,
newest last):

- a run of Chinese/Japanese/Korean characters gives its character **bigrams** (退款流程 → 退款,
  款流, 流程), so a two-character word like 退款 or 噪音 is one index look-up, and its last
  character alone (程): every character of the text then starts a posting, so one character
  (噪) is one key range — its bigrams and run ends;
- any other run of letters and digits is one **word** (lowercased, at most 32 characters).

Text is NFKC-folded and lowercased first (ＲＥＦＵＮＤ → refund). A query is split on spaces into
terms that must *all* match (AND). A term matches a case when it occurs in the case's folded
subject or text with its first Latin word starting a word there; its last Latin word is a
*prefix* (`refund` finds `refunds`, `fund` does not find `refund`), its other words whole words.
The index narrows the candidates: the rarest probe drives — an exact term walks its posting list
newest-first, a prefix reads the distinct cases of its key range (`term >= 'refund' AND term <
'refune'`: the column compares bytewise on both databases) — and up to three more exact terms are
probed by primary key. Every candidate is then checked in Python against the folded text, so the
answer is exact and the same on both databases. A term with nothing to index (punctuation) falls
back to a substring scan, bounded by the other filters and terms.

The postings are written when a case is created (`index_cases`, in bulk) and rewritten when its
text changes (`reindex_case`: erasure of the complainant's data removes the erased words).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, delete, func, select, text, union
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
# A prefix's postings are counted up to this; more make it common (counted as COUNT_BOUND).
PREFIX_COUNT_BOUND = 2_000
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


def _terms_of_folded(folded: str, run_ends: bool = False) -> set[str]:
    """CJK bigrams and Latin/digit words; with `run_ends` (the index, not a query: a query's
    run may end inside a longer run of the text) also the last character of each CJK run."""
    terms: set[str] = set()
    for cjk, word in _TOKENS.findall(folded):
        if cjk:
            terms.update(cjk[i : i + 2] for i in range(len(cjk) - 1))
            if run_ends:
                terms.add(cjk[-1])
        else:
            terms.add(word[:MAX_TERM])
    return terms


def _words_of_folded(folded: str) -> set[str]:
    return {word[:MAX_TERM] for _, word in _TOKENS.findall(folded) if word}


def terms_of(text: str) -> set[str]:
    """The index terms of a text: CJK bigrams, the last character of each CJK run, and
    Latin/digit words."""
    return _terms_of_folded(fold(text), run_ends=True)


def document(subject: str, text: str) -> str:
    """What is searched for one case: its subject and its text."""
    return f"{subject}\n{text}"


@dataclass(frozen=True)
class QueryTerm:
    text: str  # folded; must occur in the folded document (Latin words starting a word)
    index_terms: frozenset[str]  # exact index terms the case must hold (may be empty)
    # Some index term must start with it: the trailing Latin/digit word, or a lone CJK character.
    prefix: str | None
    pattern: re.Pattern[str]  # the exact check: `text` at a word start


# A Latin/digit word character (what `_TOKENS` puts in a word): a word starts after anything else.
_WORD_START = f"(?<![^\\W_{_CJK}])"


_ENGLISH_WORD = re.compile(r"[a-z]{4,}")
# What the stem may drop: an inflection (a doubled consonant before -ed/-ing: cancel-led). Any
# other cut (`refunde` → `refund`) means the word is being typed, not inflected: kept as typed.
_INFLECTION = re.compile(r"[a-z]?(?:ed|ing|ations?)|e?s|ie[sd]|ly|ments?|ers?")
MIN_STEM = 3


@cache
def _english_stemmer() -> Any:
    import snowballstemmer  # only needed once someone searches an English word

    return snowballstemmer.stemmer("english")


def word_prefix(word: str) -> str:
    """What an English query word matches as a prefix: the part it shares with its Snowball
    stem when what that cuts off is an inflection (`refunding` → `refund`, finding refund,
    refunds, refunded; `cancelled` → `cancel`); else the word itself — when the rest would be
    shorter than `MIN_STEM` letters (`using` → `us` would find too much), the word is still being
    typed (`refunde`), or it is not plain lower-case letters (pinyin and codes)."""
    if not _ENGLISH_WORD.fullmatch(word):
        return word
    stem = _english_stemmer().stemWord(word)
    shared = 0
    while shared < min(len(word), len(stem)) and word[shared] == stem[shared]:
        shared += 1
    inflected = _INFLECTION.fullmatch(word[shared:]) is not None
    return word[:shared] if shared >= MIN_STEM and inflected else word


def query_term(part: str) -> QueryTerm:
    """One folded query term: its trailing Latin/digit word matches as a prefix (`refund` finds
    `refunds`, `refunded`), its other words and CJK runs exactly; a leading Latin word must start
    a word of the document (`fund` does not find `refund`). A term of one English word is first
    cut to its stem (`word_prefix`: `refunding` also finds `refund`)."""
    part = word_prefix(part)
    tokens = list(_TOKENS.finditer(part))
    last = tokens[-1] if tokens else None
    prefix: str | None = None
    exact = part
    if last is not None and last.group(2) and last.end() == len(part):
        prefix = last.group(2)[:MAX_TERM]
        exact = part[: last.start()]
    starts_word = bool(tokens) and tokens[0].start() == 0 and bool(tokens[0].group(2))
    pattern = re.compile((_WORD_START if starts_word else "") + re.escape(part))
    index_terms = frozenset(_terms_of_folded(exact))
    if not index_terms and prefix is None:
        # Only lone CJK characters (噪): every case holding one has a posting starting with it
        # (a bigram, or its run's end), so the first is a key range like a Latin prefix.
        prefix = next((t.group(1) for t in tokens if t.group(1)), None)
    return QueryTerm(part, index_terms, prefix, pattern)


def parse_query(query: str) -> list[QueryTerm]:
    """Terms of a query (split on any space, AND); ValidationError naming `search`."""
    parts = list(dict.fromkeys(fold(query).split()))
    if len(parts) > MAX_QUERY_TERMS:
        raise ValidationError.keyed(
            "error.complaints.search_too_many_words", field="search", max=MAX_QUERY_TERMS
        )
    return [query_term(part) for part in parts]


def matches(terms: Sequence[QueryTerm], subject: str, text: str) -> bool:
    """The exact check behind the index: every term occurs in the folded document, its Latin
    words starting a word there (the last one may go on: a prefix)."""
    folded = fold(document(subject, text))
    return all(term.pattern.search(folded) for term in terms)


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
    # In key order (sorted by term, stably: new cases come in ascending ids): the inserts walk
    # the primary key's B-tree once from left to right instead of jumping about it, which
    # halved their time at 20,000 cases stored on SQLite (and grows with the table).
    pairs.sort(key=itemgetter(0))
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


def prefix_end(prefix: str) -> str:
    """The least string above every string that starts with `prefix` (bytewise / code-point
    order: SQLite's BINARY, PostgreSQL's "C" collation of the column)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass(frozen=True)
class Probe:
    """An index look-up: one exact term, or every term starting with a prefix (one range of
    the primary key either way)."""

    term: str
    prefix: bool = False

    def condition(self, column: Any) -> Any:
        if self.prefix:
            return and_(column >= self.term, column < prefix_end(self.term))
        return column == self.term


@dataclass(frozen=True)
class Plan:
    """How a query finds its candidates. `driver` walks its cases newest-first (None: nothing
    indexable, scan); `checks` are exact terms probed by key for each candidate; `common`: the
    driver is a prefix with at least COUNT_BOUND postings, so the newest cases are scanned first
    (they match densely) before the range is read."""

    driver: Probe | None
    checks: tuple[str, ...] = ()
    common: bool = False
    # Prefixes of few terms, checked per candidate as "holds one of these terms" (key probes).
    any_of: tuple[tuple[str, ...], ...] = ()


def postings_bound(session: Session, probe: Probe | str, bound: int | None = None) -> int:
    """How many postings `probe` has, counted up to `bound` (default COUNT_BOUND; an index range
    count)."""
    probe = Probe(probe) if isinstance(probe, str) else probe
    limit = COUNT_BOUND if bound is None else bound
    inner = select(SearchTerm.case_id).where(probe.condition(SearchTerm.term)).limit(limit)
    return int(session.scalar(select(func.count()).select_from(inner.subquery())) or 0)


def _count(session: Session, probe: Probe) -> int:
    """A probe's postings for choosing the driver. A prefix is counted only up to
    PREFIX_COUNT_BOUND — past that it counts as COUNT_BOUND (common: any exact term rarer than
    that drives instead, and an exact term wins a tie)."""
    if not probe.prefix:
        return postings_bound(session, probe)
    found = postings_bound(session, probe, PREFIX_COUNT_BOUND)
    return COUNT_BOUND if found >= PREFIX_COUNT_BOUND else found


def plan(session: Session, terms: Sequence[QueryTerm]) -> Plan:
    """Choose the rarest probe to drive (an exact term wins a tie), up to PROBES - 1 more exact
    terms to check by key, and the other prefixes that expand to at most CHECK_EXPANSION terms
    to check as "one of these terms" (a prefix of more is left to the exact check in Python:
    its range is not keyed by case)."""
    wanted = {Probe(t) for term in terms for t in term.index_terms}
    wanted |= {Probe(term.prefix, prefix=True) for term in terms if term.prefix is not None}
    picked = sorted(wanted, key=lambda p: (p.prefix, p.term))[:MAX_COUNTED]
    counted = sorted(((_count(session, p), p.prefix, p.term), p) for p in picked)
    if not counted:
        return Plan(None)
    (count, _, _), driver = counted[0]
    checks = tuple(p.term for _, p in counted[1:] if not p.prefix)[: PROBES - 1]
    any_of = []
    for _, probe in counted[1:]:
        if probe.prefix and len(any_of) < PROBES - 1:
            expanded = expand(session, probe.term, CHECK_EXPANSION)
            if expanded is not None:
                any_of.append(tuple(expanded))
    common = driver.prefix and count >= COUNT_BOUND
    return Plan(driver, checks, common, tuple(any_of))


# A prefix with at most this many distinct terms is walked as that many posting lists, merged.
MAX_EXPANSION = 32
# A prefix that does not drive is checked per candidate if it has at most this many terms.
CHECK_EXPANSION = 8

_EXPAND = text(
    f"""
    WITH RECURSIVE found(term, n) AS (
        SELECT MIN(term), 1 FROM {SearchTerm.__tablename__} WHERE term >= :low AND term < :high
        UNION ALL
        SELECT (SELECT MIN(s.term) FROM {SearchTerm.__tablename__} s
                WHERE s.term > found.term AND s.term < :high), found.n + 1
        FROM found WHERE found.term IS NOT NULL AND found.n <= :cap
    )
    SELECT term FROM found WHERE term IS NOT NULL
    """
)


def expand(session: Session, prefix: str, cap: int | None = None) -> list[str] | None:
    """The distinct index terms starting with `prefix` (one index seek each: a loose index scan,
    the same recursive query on both databases), or None when there are more than `cap`
    (default MAX_EXPANSION)."""
    cap = MAX_EXPANSION if cap is None else cap
    found = list(session.scalars(_EXPAND, {"low": prefix, "high": prefix_end(prefix), "cap": cap}))
    return None if len(found) > cap else found


NO_CURSOR = 2**31 - 1  # "below" when there is no cursor: above every case id (INTEGER)


@cache
def _merged(branches: int) -> Select[tuple[int]]:
    """The statement of `newest_cases` for that many terms, built once (bind parameters `t0`…,
    `below`, `count`), so that SQLAlchemy compiles it once."""
    count = bindparam("count", type_=Integer)
    selects = []
    for i in range(branches):
        inner = (
            select(SearchTerm.case_id)
            .where(SearchTerm.term == bindparam(f"t{i}"))
            .where(SearchTerm.case_id < bindparam("below", type_=Integer))
            .order_by(SearchTerm.case_id.desc())
            .limit(count)
            .subquery()
        )
        selects.append(select(inner.c.case_id))
    merged = union(*selects).subquery() if branches > 1 else selects[0].subquery()
    return select(merged.c.case_id).order_by(merged.c.case_id.desc()).limit(count)


def newest_cases(
    session: Session, terms: Sequence[str], below: int | None, count: int
) -> list[int]:
    """The newest `count` cases (below `below`) holding any of `terms`: each term's posting
    list walked backwards by its key (at most `count` entries each), merged."""
    params: dict[str, Any] = {f"t{i}": term for i, term in enumerate(terms)}
    params.update(below=NO_CURSOR if below is None else below, count=count)
    return list(session.scalars(_merged(len(terms)), params))
