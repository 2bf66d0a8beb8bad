"""The complaint search index: terms (CJK bigrams, Latin words), query semantics, and the
postings kept in step with the cases — the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select, text

from clamor.core.principal import Principal
from clamor.storage.database import Database
from clamor.workflow.complaints import search, service
from clamor.workflow.complaints.inbox import InboxFilter, list_cases
from clamor.workflow.complaints.models import SearchTerm
from tests.workflow.complaints.conftest import complaint, submit

# --- pure -------------------------------------------------------------------------------------


def test_terms_are_cjk_bigrams_run_ends_and_folded_latin_words() -> None:
    assert search.terms_of("退款流程") == {"退款", "款流", "流程", "程"}
    folded = {"refund", "now", "iphone", "退款", "款"}
    assert search.terms_of("ＲＥＦＵＮＤ now, iPhone退款!") == folded
    assert search.terms_of("我 要") == {"我", "要"}  # a lone character is its run's end
    assert search.terms_of("x" * 40) == {"x" * 32}


def test_a_lone_chinese_character_is_a_prefix_and_a_longer_run_is_not() -> None:
    (one,) = search.parse_query("噪")
    assert one.prefix == "噪" and one.index_terms == frozenset()
    (two,) = search.parse_query("噪音")
    assert two.prefix is None and two.index_terms == {"噪音"}  # no run end: it may go on
    (mixed,) = search.parse_query("噪!")
    assert mixed.prefix == "噪"
    assert search.parse_query("!?")[0].prefix is None  # nothing to index: a scan


def test_query_terms_are_and_and_latin_words_are_prefixes_of_words() -> None:
    terms = search.parse_query("退款  Refund")
    assert [t.text for t in terms] == ["退款", "refund"]
    assert search.matches(terms, "", "I want a REFUND, 退款!")
    assert not search.matches(terms, "", "I want a refund")  # both terms must match
    refund = search.parse_query("refund")
    assert search.matches(refund, "", "refunds pending") and search.matches(refund, "", "Refunded")
    assert search.matches(refund, "", "退款refunded") and search.matches(refund, "", "no_refund")
    assert not search.matches(search.parse_query("fund"), "", "refunds pending")  # a word start
    # Only the last word of a term is a prefix; the others are whole words.
    assert search.matches(search.parse_query("this_bug"), "", "this_bugfix")
    assert not search.matches(search.parse_query("this_bug"), "", "this_is_a_bug")
    assert not search.matches(search.parse_query("a-b"), "", "ab-b")
    # Bigrams in the index are only candidates: the whole term must occur.
    assert not search.matches(search.parse_query("退款流程"), "", "退款太慢，流程太复杂，款流")


def test_an_inflected_english_word_searches_by_its_stem() -> None:
    prefix = search.word_prefix
    assert [prefix(w) for w in ("refunding", "refunds", "cancelled", "delayed")] == [
        "refund",
        "refund",
        "cancel",
        "delay",
    ]
    assert prefix("customers") == "custom" and prefix("services") == "servic"
    # kept as typed: still being typed, too short a stem, not plain English letters
    assert [prefix(w) for w in ("refunde", "using", "refu", "iphone15", "tuikuan")] == [
        "refunde",
        "using",
        "refu",
        "iphone15",
        "tuikuan",
    ]
    terms = search.parse_query("refunding delays")
    assert search.matches(terms, "", "Refund delayed again")
    assert not search.matches(terms, "", "a refund at last")


def test_too_many_query_terms_name_the_field() -> None:
    import pytest

    from clamor.core.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        search.parse_query(" ".join(f"w{i}" for i in range(search.MAX_QUERY_TERMS + 1)))
    assert caught.value.field == "search"


# --- on both databases ------------------------------------------------------------------------

TEXTS = [
    "申请退款一个月了还没到账",  # 0
    "楼下商铺噪音扰民，晚上睡不着",  # 1
    "I asked for a refund twice, no answer",  # 2
    "退款流程太复杂了",  # 3
    "退款太慢，流程也复杂",  # 4 (退款 and 流程, not 退款流程)
    "The refunds page is broken",  # 5
    "噪声很大",  # 6
]


def seed(db: Database, actor: Principal) -> list[int]:
    results = submit(db, actor, *(complaint(f"s{i}", t) for i, t in enumerate(TEXTS)))
    return [r.case.id for r in results]


def found(db: Database, query: str, **filters) -> list[int]:
    with db.read() as session:
        cases, _ = list_cases(session, InboxFilter(search=query, **filters))
    return [c.id for c in cases]


def test_search_semantics(db: Database, people) -> None:
    ids = seed(db, people["cs_rep"])
    assert found(db, "退款") == [ids[4], ids[3], ids[0]]
    assert found(db, "噪音") == [ids[1]]
    assert found(db, "退款流程") == [ids[3]]  # ids[4] has every bigram but not the word
    assert found(db, "退款 流程") == [ids[4], ids[3]]  # AND of two terms
    assert found(db, "REFUND") == [ids[5], ids[2]]  # a word prefix, case-folded
    assert found(db, "refunds") == [ids[5], ids[2]]  # an inflected word: its stem, refund
    assert found(db, "fund") == []  # not a word start
    assert found(db, "噪") == [ids[6], ids[1]]  # one character: its postings' key range
    assert found(db, "民") == [ids[1]]  # at a run's end (民，)
    assert found(db, "大") == [ids[6]]  # at the text's end
    assert found(db, "了") == [ids[3], ids[0]]  # at the end, and inside a run (月了还)
    assert found(db, "着") == [ids[1]] and found(db, "也") == [ids[4]]
    assert found(db, "款") == [ids[4], ids[3], ids[0]]
    assert found(db, "噪 晚上") == [ids[1]]
    assert found(db, "nothing-like-this") == []
    assert found(db, "退款", status="received") == [ids[4], ids[3], ids[0]]
    assert found(db, "退款", status="closed") == []


def test_search_pages_by_keyset(db: Database, people) -> None:
    ids = seed(db, people["cs_rep"])
    with db.read() as session:
        first, after = list_cases(session, InboxFilter(search="退款"), limit=2)
        rest, end = list_cases(session, InboxFilter(search="退款", before_id=after), limit=2)
    assert [c.id for c in first] == [ids[4], ids[3]] and after == ids[3]
    assert [c.id for c in rest] == [ids[0]] and end is None


def test_many_candidates_failing_the_exact_check(db: Database, people) -> None:
    decoys = [complaint(f"d{i}", f"退款慢{i}，流程乱") for i in range(120)]
    (real,) = submit(db, people["cs_rep"], complaint("real", "退款流程不清楚"))
    submit(db, people["cs_rep"], *decoys)
    with db.read() as session:
        cases, after = list_cases(session, InboxFilter(search="退款流程"), limit=5)
    assert [c.id for c in cases] == [real.case.id] and after is None


def _postings(db: Database, term: str) -> int:
    with db.read() as session:
        return session.scalar(
            select(func.count()).select_from(SearchTerm).where(SearchTerm.term == term)
        )


def test_erasure_takes_the_complainants_words_out_of_the_index(db: Database, people) -> None:
    (result,) = submit(
        db,
        people["cs_rep"],
        complaint("e", "我的电话13812345678，邮箱 wang@example.com 被泄露", phone="13812345678"),
    )
    assert found(db, "13812345678") == [result.case.id]
    assert _postings(db, "13812345678") == 1
    with db.write() as session:
        service.erase_complainant(
            session, people["cs_manager"], result.case.complainant_id, "the complainant asked"
        )
    assert _postings(db, "13812345678") == 0 and _postings(db, "wang") == 0
    assert found(db, "13812345678") == [] and found(db, "wang") == []
    assert found(db, "泄露") == [result.case.id]  # the rest of the text stays findable


def test_merged_cases_stay_findable_by_their_words(db: Database, people) -> None:
    ids = seed(db, people["cs_rep"])
    manager = people["cs_manager"]
    with db.write() as session:
        service.act(session, manager, ids[6], "merge", {"target_case": str(ids[1])})
    assert found(db, "噪声") == [ids[6]] and found(db, "噪音") == [ids[1]]


def test_rebuild_gives_the_postings_written_on_intake(db: Database, people) -> None:
    seed(db, people["cs_rep"])
    with db.read() as session:
        written = set(session.execute(select(SearchTerm.term, SearchTerm.case_id)).all())
    with db.write() as session:
        search.rebuild(session)
    with db.read() as session:
        assert set(session.execute(select(SearchTerm.term, SearchTerm.case_id)).all()) == written


def test_the_migration_indexes_cases_stored_before_it(db: Database, people) -> None:
    import importlib

    from alembic import command

    from clamor.migrations import alembic_config, upgrade

    migration = importlib.import_module("clamor.migrations.versions.0008_complaint_search")
    seed(db, people["cs_rep"])
    with db.read() as session:
        written = set(session.execute(select(SearchTerm.term, SearchTerm.case_id)).all())
    try:
        command.downgrade(alembic_config(db.engine), migration.down_revision)
    finally:
        upgrade(db.engine)
    with db.read() as session:
        assert set(session.execute(select(SearchTerm.term, SearchTerm.case_id)).all()) == written
    assert found(db, "噪音") == [found(db, "扰民")[0]]


# --- prefixes ---------------------------------------------------------------------------------

PREFIXED = [
    "Refund requested",  # 0
    "still no refunds after a month",  # 1
    "they refunded half; 退款refunding 还没完",  # 2
    "prefund is not a word we use",  # 3
    "refuse to answer, REFU-ND",  # 4
    "the refund desk is closed, 退款慢",  # 5
]


def test_latin_prefixes_on_both_databases(db: Database, people) -> None:
    items = [complaint(f"p{i}", t) for i, t in enumerate(PREFIXED)]
    ids = [r.case.id for r in submit(db, people["cs_rep"], *items)]
    assert found(db, "refund") == [ids[5], ids[2], ids[1], ids[0]]
    assert found(db, "refu") == [ids[5], ids[4], ids[2], ids[1], ids[0]]
    assert found(db, "refunde") == [ids[2]]
    assert found(db, "refund 退款") == [ids[5], ids[2]]
    assert found(db, "退款refund") == [ids[2]]
    assert found(db, "refu-n") == [ids[4]]
    assert found(db, "refund", status="closed") == []
    with db.read() as session:
        first, after = list_cases(session, InboxFilter(search="refund"), limit=3)
        rest, end = list_cases(session, InboxFilter(search="refund", before_id=after), limit=3)
    assert [c.id for c in first + rest] == [ids[5], ids[2], ids[1], ids[0]] and end is None


def test_a_common_prefix_scans_the_newest_then_reads_its_range(
    db: Database, people, monkeypatch
) -> None:
    """With a common prefix of many terms (forced: a bound of 2 postings, at most 1 term) the
    newest cases are scanned first; when they do not fill the page, the prefix's index range
    takes over below them."""
    from clamor.workflow.complaints import inbox

    rep = people["cs_rep"]
    early = submit(db, rep, *(complaint(f"e{i}", f"refund number {i}") for i in range(3)))
    submit(db, people["cs_rep"], *(complaint(f"n{i}", f"噪音 {i}") for i in range(6)))
    late = submit(db, people["cs_rep"], complaint("late", "refunded at last"))
    expected = [late[0].case.id, *reversed([r.case.id for r in early])]
    assert found(db, "refund") == expected
    monkeypatch.setattr(search, "PREFIX_COUNT_BOUND", 2)
    monkeypatch.setattr(search, "MAX_EXPANSION", 1)  # refund, refunded: too many to merge
    monkeypatch.setattr(inbox, "COMMON_SCAN", 4)  # the scan stops before the early cases
    with db.read() as session:
        assert search.plan(session, search.parse_query("refund")).common
    assert found(db, "refund") == expected
    monkeypatch.setattr(inbox, "COMMON_SCAN", 1000)  # the scan alone fills the page
    assert found(db, "refund") == expected
    assert found(db, "refund 噪音") == []


def test_a_prefix_is_one_index_range_on_both_databases(db: Database, people) -> None:
    """The plan reads the primary key's range (no full scan of the posting table)."""
    seed(db, people["cs_rep"])
    condition = search.Probe("refund", prefix=True).condition(SearchTerm.term)
    query = select(SearchTerm.case_id).where(condition)
    with db.read() as session:
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        if db.is_sqlite:
            plan = " ".join(
                str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
            assert "SEARCH complaint_search_terms USING PRIMARY KEY (term>? AND term<?)" in plan
        else:
            session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: force it
            plan = " ".join(row[0] for row in session.execute(text(f"EXPLAIN {compiled}")))
            assert "pk_complaint_search_terms" in plan and "Index" in plan
            assert "Seq Scan" not in plan


def test_a_prefix_expands_to_its_distinct_terms(db: Database, people) -> None:
    items = [complaint(f"p{i}", t) for i, t in enumerate(PREFIXED)]
    ids = [r.case.id for r in submit(db, people["cs_rep"], *items)]
    with db.read() as session:
        assert search.expand(session, "refu") == [
            "refu",
            "refund",
            "refunded",
            "refunding",
            "refunds",
            "refuse",
        ]
        assert search.expand(session, "refu", cap=5) is None
        assert search.expand(session, "zzz") == []
        newest = search.newest_cases(session, ["refund", "refunds", "refunded"], None, 3)
        assert newest == [ids[5], ids[2], ids[1]]
        assert search.newest_cases(session, ["refund", "refunds"], ids[1], 3) == [ids[0]]


def test_one_chinese_character_is_found_by_the_index_not_a_scan(
    db: Database, people, monkeypatch
) -> None:
    """A one-character query drives by its key range: cases without it are never read."""
    ids = seed(db, people["cs_rep"])
    read: list[int] = []
    matches = search.matches

    def counted(terms, subject, text):
        read.append(1)
        return matches(terms, subject, text)

    monkeypatch.setattr(search, "matches", counted)
    assert found(db, "噪") == [ids[6], ids[1]]
    assert len(read) == 2  # only the two cases holding 噪 were checked
    with db.read() as session:
        plan = search.plan(session, search.parse_query("噪"))
    assert plan.driver == search.Probe("噪", prefix=True)
    read.clear()
    assert found(db, "睡 噪") == [ids[1]] and len(read) == 1
