"""The fast paths of the analysis give exactly what the straightforward code gives.

Each shortcut (literal gates in front of long regexes, NFKC by table, counting by translate,
hashing shared between models, np.unique without its overhead …) is checked against the plain
computation it replaces, on hand-picked awkward texts and on generated ones.
"""

from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clamor.analysis.features import _CUE_RES, FeatureConfig
from clamor.analysis.hashing import _cue_numbers, hash_batch, hash_features, hash_features_many
from clamor.analysis.language import _ACCENT_RE, _HAN_RE, _LATIN_RE, count_han, count_latin
from clamor.analysis.linear import mean_weights, row_sums, unique_first_counts
from clamor.analysis.normalize import (
    _EMOJI_RE,
    _EMOTICON_RE,
    _MENTION_RE,
    _PAIR_SECONDS_CCC0,
    _PAIR_SECONDS_UNIDATA,
    _REPOST_RE,
    _SPACE_RE,
    _URL_RE,
    MENTION_TOKEN,
    URL_TOKEN,
    has_cjk,
    nfkc,
    normalize,
    normalize_simplified,
    pair_seconds_ccc0,
)
from clamor.analysis.pii import (
    PiiSpan,
    _without_overlaps,
    _without_overlaps_plain,
    find_pii,
    redact_copy,
)
from clamor.analysis.prefilter import (
    AlternativesGate,
    literal_trie,
    required_literal,
    split_alternatives,
)
from clamor.analysis.registry import CATEGORY, MODEL_DIR, SENTIMENT_EN, SENTIMENT_ZH, get_model
from clamor.analysis.severity import _ESCALATION_RE, escalation_hits

AWKWARD = [
    "",
    " ",
    "a",
    "中",
    "\x00\x01\x02",
    "😀😡🔥🔥",
    "[怒][怒]",
    "ＡＢＣ　全角，！",
    "㈱会社 ㍿ ﬁne ﬂight Ⅻ ⑴ ㎏ ½",
    "e\u0301cole A\u0308 \u1100\u1161\u11a8 한국어 ㅏ ㄱ",
    "İstanbul ſtraße ß ǅ",
    "軟體很爛，客服態度差！我要投訴到消協，還要找律師起訴",
    "I will sue you, call the FAA and the news; fire on board, everyone hurt",
    "//@alice: 转发//@bob: 原文 http://t.co/x www.Example.com @carol 爆炸 3.15 315",
    "HTTPS://EXAMPLE.COM/A WWW.X.CN",
    "my data was leaked, privacy breach, identity theft, scam!!",
    "مرحبا Привет こんにちは 안녕하세요 ภาษาไทย",
    "\ufffd\ufffd",
    "\U0010fffe sentinel",
    "x" * 6000,
    "差评" * 3000,
    bytes(random.Random(3).randrange(256) for _ in range(3000)).decode("utf-8", "replace"),
    ("大家好 hello 世界 13812345678 " * 40000)[:1_000_000],
]


def random_texts(count: int, seed: int = 11) -> list[str]:
    rnd = random.Random(seed)
    blocks = [(0x20, 0x7F), (0x80, 0x3000), (0x3000, 0xA000), (0xF900, 0xFFFF), (0x1F300, 0x1FB00)]
    out = []
    for _ in range(count):
        chars = []
        for _ in range(rnd.randint(0, 120)):
            lo, hi = rnd.choice(blocks)
            chars.append(chr(rnd.randrange(lo, hi)))
        out.append("".join(chars).encode("utf-8", "replace").decode("utf-8", "replace"))
    return out


SAMPLES = AWKWARD + random_texts(300)


# ---- prefilter ------------------------------------------------------------------------
def test_split_alternatives_respects_groups_classes_and_escapes() -> None:
    assert split_alternatives(r"a|b(?:c|d)|[|]|e\|f|") == ["a", "b(?:c|d)", "[|]", r"e\|f", ""]
    assert split_alternatives(r"[]|]x|y") == ["[]|]x", "y"]


def test_required_literal() -> None:
    assert required_literal(r"\bfire\b") == "fire"
    assert required_literal(r"explod\w*") == "explod"
    assert required_literal(r"go(?:ing)? viral") == " viral"
    assert required_literal(r"3\.?15") == "15"
    assert required_literal(r"[ab]c") == "c"
    assert required_literal(r"\w+") == ""
    assert required_literal("abc", re.IGNORECASE) == ""
    assert required_literal("(?i)abc") == ""
    assert required_literal("(") == ""  # not a regex: no shortcut, no error


WORDS = [
    "fire",
    "fir",
    "sue",
    "issue",
    "news",
    "律师",
    "律师函",
    "起诉",
    "a",
    "b",
    " ",
    "15",
    "3.15",
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.sampled_from([*WORDS, "x", "。", "\n"]), max_size=25).map("".join))
def test_gate_finds_the_same_matches_as_the_full_regex(text: str) -> None:
    groups = [
        ("g1", r"\bfire\b|律师|律师函|\bsue\b"),
        ("g2", r"news\w*|3\.?15|起诉|(?:a|b)+"),
        ("g3", "x"),
    ]
    gate = AlternativesGate(groups)
    full = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in groups))
    pattern = gate.pattern_for(text)
    got = [] if pattern is None else [(m.lastgroup, m.span()) for m in pattern.finditer(text)]
    assert got == [(m.lastgroup, m.span()) for m in full.finditer(text)]
    each = [re.search(p, text) is not None for _, p in groups]
    assert gate.search_each(text) == each


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text("abc律师 .", min_size=1, max_size=4), min_size=1, max_size=6),
    st.text("abc律师 .x\n", max_size=30),
)
def test_literal_trie_matches_where_a_literal_occurs(literals: list[str], text: str) -> None:
    pattern = re.compile(literal_trie(literals))
    assert (pattern.search(text) is not None) == any(literal in text for literal in literals)


def test_inline_ignorecase_turns_the_shortcut_off() -> None:
    gate = AlternativesGate([(None, "(?i)abc|def")])
    assert gate.search("ABC") is not None and gate.search("DEF") is not None


@pytest.mark.parametrize("text", SAMPLES)
def test_escalation_hits_equal_the_full_regex(text: str) -> None:
    text = text.lower()
    hits: dict[str, list[tuple[int, int]]] = {}
    for match in _ESCALATION_RE.finditer(text):
        spans = hits.setdefault(match.lastgroup or "", [])
        if len(spans) < 5:
            spans.append(match.span())
    assert escalation_hits(text) == hits


@pytest.mark.parametrize("text", SAMPLES)
def test_cue_numbers_equal_the_full_regexes(text: str) -> None:
    text = text.lower()
    assert _cue_numbers(text) == [i for i, p in enumerate(_CUE_RES.values()) if p.search(text)]


# ---- normalisation and language -------------------------------------------------------
def test_pair_seconds_table_matches_this_python() -> None:
    if unicodedata.unidata_version != _PAIR_SECONDS_UNIDATA:
        pytest.skip("another Unicode version: the table is recomputed at run time")
    assert pair_seconds_ccc0() == _PAIR_SECONDS_CCC0


@pytest.mark.parametrize("text", SAMPLES)
def test_nfkc_equals_unicodedata(text: str) -> None:
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=12))
def test_nfkc_equals_unicodedata_on_any_text(text: str) -> None:
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_nfkc_on_composing_sequences() -> None:
    for text in ["e\u0301", "\u1100\u1161\u11a8", "가\u11a8", "ｶﾞ", "ㄱㅏ", "\u0b47\u0b3e", "Å"]:
        assert nfkc(text) == unicodedata.normalize("NFKC", text)


def _old_normalize_simplified(simplified: str) -> tuple[object, ...]:
    repost_chain = tuple(_REPOST_RE.findall(simplified))
    urls = tuple(_URL_RE.findall(simplified))
    body = _URL_RE.sub(URL_TOKEN, simplified)
    body = _REPOST_RE.sub(" // ", body)
    mentions = tuple(_MENTION_RE.findall(body))
    body = _MENTION_RE.sub(MENTION_TOKEN, body)
    body = _SPACE_RE.sub(" ", body).strip().lower()
    emoticons = tuple(_EMOTICON_RE.findall(simplified))
    return body, urls, mentions, repost_chain, emoticons, tuple(_EMOJI_RE.findall(simplified))


@pytest.mark.parametrize(
    "text",
    [
        *SAMPLES,
        "//@http://x.com :hi",
        "//@www.x.com :hi",
        "//http://x.com @bob: hi",
        "a//@b:c @d www.e.f\u3000g\x1c h\u2028",
    ],
)
def test_normalize_shortcuts_equal_the_plain_regex_steps(text: str) -> None:
    got = normalize_simplified(text, text)
    assert (
        got.text,
        got.urls,
        got.mentions,
        got.repost_chain,
        got.emoticons,
        got.emoji,
    ) == _old_normalize_simplified(text)


@pytest.mark.parametrize("text", SAMPLES)
def test_counts_equal_the_regex_counts(text: str) -> None:
    assert has_cjk(text) == any(
        "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in text
    )
    assert count_han(text) == len(_HAN_RE.findall(text))
    assert count_latin(text) == len(_LATIN_RE.findall(text)) + len(_ACCENT_RE.findall(text))


# ---- hashing and tf-idf ---------------------------------------------------------------
def test_unique_first_counts_equals_np_unique() -> None:
    rnd = np.random.default_rng(5)
    for size in [0, 1, 2, 7, 100, 3000]:
        for high in [2, 50, 1 << 21, 1 << 31]:
            values = rnd.integers(0, high, size).astype(np.int64)
            want = np.unique(values, return_index=True, return_counts=True)
            # Without a bound (64-bit keys), and with one (32-bit keys where they fit).
            for got in (unique_first_counts(values), unique_first_counts(values, high)):
                for w, g in zip(want, got, strict=True):
                    assert np.array_equal(w, g) and w.dtype == g.dtype
    big = np.array([1 << 40, 3, 3], np.int64)  # outside the fast path's range: still right
    assert [list(a) for a in unique_first_counts(big)] == [[3, 1 << 40], [1, 0], [2, 1]]


CONFIGS = [
    (FeatureConfig(1, 3, gaps=True), 21),
    (FeatureConfig(2, 5, words=True), 20),
    (FeatureConfig(1, 3, words=True, cues=True), 19),
    (FeatureConfig(1, 2, words=True, word_bigrams=False), 16),
]


@pytest.mark.parametrize("text", SAMPLES)
def test_shared_hashing_equals_hashing_each_config(text: str) -> None:
    text = text.lower()[:5000]
    for wanted in [CONFIGS, CONFIGS[:2], CONFIGS[1:3], CONFIGS[3:]]:
        for (config, bits), shared in zip(wanted, hash_features_many(text, wanted), strict=True):
            alone = hash_features(text, config, bits)
            assert np.array_equal(shared.buckets, alone.buckets)
            assert shared.buckets.dtype == np.int64
            assert shared.segments == alone.segments
            assert shared.words == alone.words and shared.cue_numbers == alone.cue_numbers
            described = [shared.describe(text, i) for i in range(0, len(shared.buckets), 7)]
            assert described == [alone.describe(text, i) for i in range(0, len(alone.buckets), 7)]


# ---- personal data in exported text ---------------------------------------------------
def test_redact_copy_masks_values_in_a_transformed_copy() -> None:
    raw = "电话13812345678 邮箱 Zhang.San@Example.com"
    found = find_pii(raw)
    copy = raw.lower().replace("@example", "⟨at⟩")  # as normalisation might change it
    masked = redact_copy(copy, found, lambda s: s.lower().replace("@example", "⟨at⟩"))
    assert "13812345678" not in masked and "zhang.san" not in masked
    assert "138****5678" in masked and "Z***@Example.com" in masked


def test_personal_data_is_masked_in_exported_normalized_text() -> None:
    from clamor.analysis.pipeline import analyze

    text = "我的电话13812345678，身份证110101199003074514，邮箱 zhang.san@example.com"
    body = analyze(text).to_dict()
    exported = str(body["normalized_text"])
    for value in ("13812345678", "110101199003074514", "zhang.san", "1234567"):
        assert value not in exported
    assert "138****5678" in exported and "110101********4514" in exported
    # Full-width digits only become a phone number after normalisation: masked too.
    assert "13812345678" not in str(
        analyze("手机１３８１２３４５６７８").to_dict()["normalized_text"]
    )


def test_row_sums_equal_numpy_reduction() -> None:
    rng = np.random.default_rng(9)
    for columns in (1, 2, 3, 4, 5, 6, 7, 8, 9):
        for rows in (0, 1, 7, 100, 5000, 20000):
            scale = rng.choice([1e-4, 1.0, 40.0], (rows, columns))
            matrix = (rng.standard_normal((rows, columns)) * scale).astype(np.float32)
            assert np.array_equal(row_sums(matrix), np.add.reduce(matrix, axis=1))


def test_mean_weights_equal_numpy_mean() -> None:
    rng = np.random.default_rng(11)
    for columns in (2, 3, 5, 9):
        for rows in (0, 1, 300):
            scale = rng.choice([1e-4, 1.0, 40.0], (rows, columns))
            matrix = (rng.standard_normal((rows, columns)) * scale).astype(np.float32)
            got, want = mean_weights(matrix), matrix.mean(axis=1)
            assert np.array_equal(got, want) and got.dtype == want.dtype


@pytest.mark.skipif(not (MODEL_DIR / "sentiment_zh.npz").exists(), reason="models not trained")
def test_vectors_carry_the_mean_weights_contributions_would_compute() -> None:
    texts = [normalize(t).text for t in SAMPLES[:100]]
    for name in (SENTIMENT_EN, CATEGORY):
        model = get_model(name)
        for text in texts:
            vector = model.vectorize(text)
            if len(vector.ids):
                assert vector.mean is not None and vector.weights is not None
                assert np.array_equal(vector.weights, model.coef[vector.ids])
                assert vector.weights.flags.c_contiguous
                assert np.array_equal(vector.mean, vector.weights.mean(axis=1))
                # And the reasons are those of a vector without them (computed on the spot).
                bare = type(vector)(vector.hashed, vector.ids, vector.values, vector.first)
                for class_index in range(len(model.classes)):
                    assert model.contributions(text, vector, class_index) == (
                        model.contributions(text, bare, class_index)
                    )


def test_hash_batch_equals_hashing_one_by_one() -> None:
    texts = [t.lower()[:5000] for t in SAMPLES[:120]] + ["", "a", "", "ab"]
    for wanted in [CONFIGS, CONFIGS[:2], CONFIGS[1:3], CONFIGS[3:]]:
        for chunk in (texts, texts[:1], ["", ""], ["a", "", "bb"]):
            for text, batch in zip(chunk, hash_batch(chunk, wanted), strict=True):
                for (config, bits), got in zip(wanted, batch, strict=True):
                    alone = hash_features(text, config, bits)
                    assert np.array_equal(got.buckets, alone.buckets)
                    assert got.segments == alone.segments
                    assert got.words == alone.words and got.cue_numbers == alone.cue_numbers


@pytest.mark.skipif(not (MODEL_DIR / "sentiment_zh.npz").exists(), reason="models not trained")
def test_vectorize_many_equals_vectorize_one_by_one() -> None:
    texts = [normalize(t).text for t in SAMPLES[:150]] + ["", "zzzz qqqq"]
    # Short texts only: each text's keys fit in 32 bits (sorted text by text); with one long
    # text in the batch they do not (one 64-bit sort).
    short = [t for t in texts if len(t) < 300]
    long_text = normalize("房间很干净，服务态度也好，就是隔音太差。" * 300).text
    models = (SENTIMENT_ZH, SENTIMENT_EN, CATEGORY)
    for name, batch in [(n, b) for n in models for b in (short, [*short[:20], long_text])]:
        model = get_model(name)
        hashed = [h[0] for h in hash_batch(batch, [(model.config, model.bits)])]
        for one, many in zip(hashed, model.vectorize_many(hashed), strict=True):
            alone = model.vectorize_hashed(one)
            assert np.array_equal(alone.ids, many.ids)
            assert np.array_equal(alone.first, many.first)
            assert np.array_equal(alone.values, many.values)
            if len(alone.ids):
                assert np.array_equal(model.decision(alone), model.decision(many))


@pytest.mark.skipif(not (MODEL_DIR / "sentiment_zh.npz").exists(), reason="models not trained")
def test_analyze_many_equals_analyze_one_by_one() -> None:
    from clamor.analysis.pipeline import BATCH, analyze, analyze_many

    texts = [*SAMPLES[:80], "服务太差了，我要投诉", "great crew, thanks!", b"\xff\xfe bytes"]
    texts = texts * (BATCH // len(texts) + 1)  # more than one round of batch calls
    metas = [{"reposts": i % 7} if i % 3 else None for i in range(len(texts))]
    batch = analyze_many(texts, metas)
    assert len(batch) == len(texts)
    for text, meta, got in zip(texts, metas, batch, strict=True):
        assert got.to_dict() == analyze(text, meta).to_dict()


def test_overlap_removal_equals_the_plain_pairwise_check() -> None:
    rnd = random.Random(1)
    for _ in range(3000):
        spans = []
        for _ in range(rnd.randint(0, 12)):
            start = rnd.randint(0, 40)
            spans.append(PiiSpan("mobile", start, start + rnd.randint(0, 8), "v"))
        assert _without_overlaps(spans) == _without_overlaps_plain(spans)


def test_many_numbers_in_a_long_paste_stay_fast() -> None:
    text = ("电话 13812345678 " * 60000)[:1_000_000]
    assert len(find_pii(text)) > 50_000  # pairwise overlap checks would take minutes


# ---- records ----------------------------------------------------------------------------
def test_quick_init_builds_the_same_frozen_objects() -> None:
    import dataclasses

    from clamor.analysis.frozen import quick_init

    def declare() -> type:
        @dataclasses.dataclass(frozen=True, slots=True)
        class Record:
            a: int
            b: str = "b"
            c: list[int] = dataclasses.field(default_factory=list)

        return Record

    plain, quick = declare(), quick_init(declare())
    for args, kwargs in [((1,), {}), ((1, "x"), {}), ((1,), {"c": [2]}), ((), {"a": 3, "b": ""})]:
        want, got = plain(*args, **kwargs), quick(*args, **kwargs)
        assert dataclasses.astuple(want) == dataclasses.astuple(got)
        assert repr(want).split("(", 1)[1] == repr(got).split("(", 1)[1]
    assert quick(1).c is not quick(1).c  # a fresh default each time, as the factory says
    assert quick(1, "x") == quick(1, "x") and quick(1, "x") != quick(1, "y")
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick(1).a = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        quick()  # type: ignore[call-arg]
    assert dataclasses.replace(quick(1), b="y") == quick(1, "y")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["the", "die", "Les", "und", "pas", "flight", "x", "9", "a-b", "DER"]),
        max_size=15,
    ).map(" ".join)
    | st.text(st.characters(max_codepoint=127), max_size=40)
)
def test_english_check_of_ascii_text_equals_the_regex_count(text: str) -> None:
    from clamor.analysis.language import _NON_EN_WORDS, _WORD_RE, _looks_english

    words = _WORD_RE.findall(text.lower())
    foreign = sum(word in _NON_EN_WORDS for word in words)
    assert _looks_english(text) == (bool(words) and foreign * 5 < len(words))
