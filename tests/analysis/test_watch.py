"""Watch query language: parsing, errors with positions, matching, and the compiled set."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clamor.analysis.watch import (
    And,
    FieldFilter,
    Near,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    WatchSet,
    normalize_for_match,
    parse_query,
    units_before,
)
from clamor.core.errors import ValidationError


def matched_ids(queries: dict[str, str], text: str, **fields: object) -> list[str]:
    return [match.query_id for match in WatchSet.compile(queries).match(text, fields)]


def matches(query: str, text: str, **fields: object) -> bool:
    return matched_ids({"q": query}, text, **fields) == ["q"]


# --- parsing ------------------------------------------------------------------------------------


def test_precedence_not_binds_tighter_than_and_tighter_than_or() -> None:
    tree = parse_query("a OR b c NOT d")
    assert tree == Or((Term("a"), And((Term("b"), Term("c"), Not(Term("d"))))))


def test_chinese_operators_only_when_standing_alone() -> None:
    assert parse_query("华为 或 小米 且 非 苹果") == Or(
        (Term("华为"), And((Term("小米"), Not(Term("苹果")))))
    )
    assert parse_query("或者") == Term("或者")


def test_fields_phrases_prefixes_and_near() -> None:
    tree = parse_query('lang:zh author:"John Doe" "late flight" cancel* a NEAR/3 b')
    assert tree == And(
        (
            FieldFilter("lang", "zh"),
            FieldFilter("author", "john doe"),
            Term("late flight", phrase=True),
            Term("cancel", prefix=True),
            Near(Term("a"), Term("b"), 3),
        )
    )


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ("(refund OR return", 0, "unbalanced parenthesis"),
        ("refund OR return)", 16, "unbalanced parenthesis"),
        ("brand AND (a OR (b c)", 10, "unbalanced parenthesis"),
        ("refund AND", 10, "term was expected"),
        ("OR refund", 0, "needs a term before it"),
        ('"late flight', 0, "unterminated quote"),
        ("delay NEAR/x flight", 6, "NEAR needs a distance"),
        ("colour:red", 0, "unknown field"),
        ("a NEAR/2 (b AND c)", 9, "NEAR works on terms"),
        ("   ", 0, "empty query"),
        ("a () b", 2, "empty parentheses"),
        ("!!!", 0, "no letters or digits"),
    ],
)
def test_parse_errors_point_at_the_position(query: str, position: int, fragment: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert caught.value.position == position
    assert fragment in caught.value.message
    assert f"at position {position}" in caught.value.message
    assert isinstance(caught.value, ValidationError)


def test_compile_names_the_broken_query() -> None:
    with pytest.raises(ValidationError) as caught:
        WatchSet.compile({"ok": "refund", "broken": "(refund"})
    assert caught.value.field == "broken"
    assert "broken" in caught.value.message and "position 0" in caught.value.message


# --- matching -----------------------------------------------------------------------------------


def test_latin_terms_match_whole_words_case_insensitively() -> None:
    assert matches("flight", "My FLIGHT was late")
    assert not matches("flight", "two flights were late")
    assert matches("flight*", "two flights were late")
    assert not matches("light", "my flight")


def test_chinese_terms_match_as_substrings_after_traditional_to_simplified() -> None:
    assert matches("手机", "这款华为手机发热")
    assert matches("软件 AND 隐私", "這個軟件洩露隱私")


def test_phrases_ignore_punctuation_and_spacing_between_words() -> None:
    assert matches('"late flight"', "so late...   Flight 123 again")
    assert not matches('"late flight"', "late for my flight")


def test_near_counts_words_in_english_and_characters_in_chinese() -> None:
    text = "the flight was badly delayed again"
    assert matches("flight NEAR/2 delayed", text)
    assert not matches("flight NEAR/1 delayed", text)
    assert matches("delayed NEAR/2 flight", text)  # order does not matter
    assert matches("华为 NEAR/2 手机", "华为新款手机")
    assert not matches("华为 NEAR/1 手机", "华为新款手机")
    assert matches("(refund OR return) NEAR/0 policy", "their return policy")


def test_near_chains_and_prefixes() -> None:
    assert matches("data NEAR/1 leak* NEAR/2 users", "data was leaked to many users")
    assert not matches("data NEAR/1 leak* NEAR/0 users", "data was leaked to many users")


def test_not_and_fields() -> None:
    queries = {"brand": "united NOT (virgin OR delta)", "weibo": "source:weibo NOT 广告"}
    assert matched_ids(queries, "United lost my bag") == ["brand"]
    assert matched_ids(queries, "United and Delta both late") == []
    assert matched_ids(queries, "今天天气", source="Weibo") == ["weibo"]
    assert matched_ids(queries, "广告", source="weibo") == []
    assert matches("category:data_priv*", "x", category=["other", "data_privacy"])
    assert not matches("lang:zh 手机", "手机", lang="en")
    assert not matches("author:alice", "anything")  # a missing field never matches


def test_highlights_point_into_the_original_text() -> None:
    text = "Ｕｎｉｔｅｄ: my Cancelled flight!!"
    [match] = WatchSet.compile({"q": 'united AND cancel* AND "flight"'}).match(text)
    spans = {
        highlight.term: text[highlight.start : highlight.end] for highlight in match.highlights
    }
    assert spans == {"united": "Ｕｎｉｔｅｄ", "cancel*": "Cancelled", '"flight"': "flight"}
    assert set(match.terms) == {"united", "cancel*", '"flight"'}


def test_negated_terms_are_not_highlighted() -> None:
    [match] = WatchSet.compile({"q": "refund NOT scam"}).match("refund please")
    assert match.terms == ("refund",)


def test_many_queries_only_the_relevant_ones_match() -> None:
    queries = {f"q{index}": f"brand{index} AND (late OR lost)" for index in range(300)}
    queries["any"] = "source:weibo"
    watch = WatchSet.compile(queries)
    assert [m.query_id for m in watch.match("brand17 lost my bag", {"source": "x"})] == ["q17"]
    assert [m.query_id for m in watch.match("brand17", {"source": "weibo"})] == ["any"]


# --- properties ---------------------------------------------------------------------------------

WORDS = ["late", "flight", "refund", "data", "leak", "华为", "手机", "隐私", "ab", "b"]

terms = st.builds(
    Term,
    st.sampled_from(WORDS),
    prefix=st.booleans(),
).map(lambda term: Term(term.text, prefix=term.prefix and term.text.isascii()))
phrases = st.lists(st.sampled_from(WORDS[:5]), min_size=2, max_size=3).map(
    lambda words: Term(" ".join(words), phrase=True)
)
positional_leaves = st.one_of(terms, phrases)
fields = st.builds(
    FieldFilter, st.sampled_from(["lang", "source"]), st.sampled_from(["zh", "en", "weibo"])
)


def _positional(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(Near, children, positional_leaves, st.integers(0, 4)),
        st.lists(children, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
    )


positional = st.recursive(positional_leaves, _positional, max_leaves=4)


def _boolean(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        children.map(Not),
        st.lists(children, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(children, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
    )


queries = st.recursive(st.one_of(positional, fields), _boolean, max_leaves=8)
texts = st.lists(
    st.sampled_from([*WORDS, "flights", "leaked", "x", "，", " ", "!", "LATE", "華為"]),
    max_size=14,
).map(lambda parts: " ".join(parts) if len(parts) % 2 else "".join(parts))


@given(queries)
@settings(deadline=None)
def test_rendered_query_parses_back_to_the_same_tree(tree) -> None:  # type: ignore[no-untyped-def]
    assert parse_query(tree.render()) == tree


@given(st.text(max_size=40))
@settings(deadline=None, max_examples=300)
def test_any_input_either_parses_or_raises_a_positioned_syntax_error(text: str) -> None:
    try:
        parse_query(text)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(text)


def _naive_spans(tree, text: str) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Reference semantics written independently of the automaton: scan with str.find."""
    if isinstance(tree, Term):
        spans, start = [], text.find(tree.text)
        while start >= 0:
            end = start + len(tree.text)
            left_ok = start == 0 or not (
                text[start - 1].isascii() and text[start - 1].isalnum() and text[start].isascii()
            )
            right_inside = (
                end < len(text)
                and text[end].isascii()
                and text[end].isalnum()
                and text[end - 1].isascii()
            )
            if left_ok and (not right_inside or tree.prefix):
                while (
                    tree.prefix and end < len(text) and text[end].isascii() and text[end].isalnum()
                ):
                    end += 1
                spans.append((start, end))
            start = text.find(tree.text, start + 1)
        return spans
    if isinstance(tree, Or):
        return [span for child in tree.children for span in _naive_spans(child, text)]
    counts = units_before(text)
    joined = []
    for left in _naive_spans(tree.left, text):
        for right in _naive_spans(tree.right, text):
            first, second = sorted([left, right])
            gap = 0 if second[0] < first[1] else counts[second[0]] - counts[first[1]]
            if gap <= tree.distance:
                joined.append((min(left[0], right[0]), max(left[1], right[1])))
    return joined


def _naive_truth(tree, text: str, values: dict[str, str]) -> bool:  # type: ignore[no-untyped-def]
    if isinstance(tree, FieldFilter):
        return values.get(tree.name) == tree.value
    if isinstance(tree, Not):
        return not _naive_truth(tree.child, text, values)
    if isinstance(tree, And):
        return all(_naive_truth(child, text, values) for child in tree.children)
    if isinstance(tree, Or):
        return any(_naive_truth(child, text, values) for child in tree.children)
    return bool(_naive_spans(tree, text))


@given(st.lists(queries, min_size=1, max_size=6), texts, st.sampled_from(["zh", "en"]))
@settings(max_examples=300, deadline=None)
def test_compiled_set_agrees_with_naive_evaluation(trees, text: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    watch = WatchSet.compile({f"q{i}": tree.render() for i, tree in enumerate(trees)})
    normalized = normalize_for_match(text).text
    expected = [
        f"q{i}"
        for i, tree in enumerate(trees)
        if _naive_truth(tree, normalized, {"lang": lang, "source": "weibo"})
    ]
    got = [match.query_id for match in watch.match(text, {"lang": lang, "source": "weibo"})]
    assert sorted(got) == sorted(expected)


@given(texts)
@settings(deadline=None)
def test_highlights_are_inside_the_text_and_spell_the_term(text: str) -> None:
    watch = WatchSet.compile({"q": " OR ".join(WORDS)})
    for match in watch.match(text):
        for highlight in match.highlights:
            assert 0 <= highlight.start < highlight.end <= len(text)
            assert normalize_for_match(text[highlight.start : highlight.end]).text == highlight.term
