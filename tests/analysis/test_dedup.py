"""Near-duplicate keys and the banded index."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from clamor.analysis.dedup import (
    DuplicateKey,
    NearDuplicateIndex,
    content_units,
    duplicate_key,
    hamming,
    strip_noise,
)

STORY_EN = (
    "AC Milan midfielder Michael Essien has been diagnosed with Ebola. Get well soon Michael. "
    "[Daily Times]"
)
STORY_ZH = (
    "酒店的服务态度非常差，前台一直不理人，房间里还有蟑螂，退房的时候还多扣了押金，再也不会来了"
)


def key(text: str) -> DuplicateKey:
    result = duplicate_key(text)
    assert result is not None
    return result


def test_noise_that_differs_between_copies_is_removed() -> None:
    text = "RT @bbc: Big news http://t.co/abc //@小王: 转发 @alice 看看"
    cleaned = strip_noise(text)
    for noise in ("http", "@bbc", "RT", "//@小王", "@alice"):
        assert noise not in cleaned
    assert content_units("华为Mate60发热") == ["华", "为", "mate60", "发", "热"]


def test_copies_with_other_links_mentions_and_repost_chains_get_the_same_key() -> None:
    assert key(STORY_EN + " http://t.co/swnPf") == key(
        "RT @DailyTimes: " + STORY_EN + " http://t.co/r6y8d"
    )
    repost = "//@消费者小李:" + STORY_ZH + " @某酒店官方 http://t.cn/A6x"
    assert hamming(key(STORY_ZH).simhash, key(repost).simhash) <= 3


def test_small_edits_stay_close_and_different_stories_are_far() -> None:
    edited_en = STORY_EN.replace("Get well soon Michael.", "Get well soon, Michael!!")
    assert hamming(key(STORY_EN).simhash, key(edited_en).simhash) <= 3
    edited_zh = STORY_ZH.replace("非常差", "很差")
    assert hamming(key(STORY_ZH).simhash, key(edited_zh).simhash) <= 8
    other_en = "Gunmen attack the offices of satirical magazine Charlie Hebdo in Paris, 11 dead"
    other_zh = "外卖送得很快，味道也不错，包装很用心，下次还会再点这家的麻辣香锅"
    assert hamming(key(STORY_EN).simhash, key(other_en).simhash) > 12
    assert hamming(key(STORY_ZH).simhash, key(other_zh).simhash) > 12


def test_short_texts_get_no_key_and_are_never_merged() -> None:
    assert duplicate_key("退款！") is None
    assert duplicate_key("@united thanks!") is None
    index = NearDuplicateIndex()
    assert not index.add("a", None, 0.0).is_copy
    assert not index.add("b", None, 1.0).is_copy


def test_copies_count_once_and_their_reach_adds_up() -> None:
    index = NearDuplicateIndex()
    first = index.add("1", key(STORY_EN), at=0.0, reach=100)
    assert (first.is_copy, first.copies, first.reach) == (False, 1, 100)
    for number in range(2, 12):
        copy = index.add(str(number), key(f"RT @user{number}: {STORY_EN}"), at=number, reach=10)
        assert copy.is_copy and copy.representative_id == "1"
    assert (copy.copies, copy.reach) == (11, 200)
    other = index.add(
        "x", key("Gunmen attack the Charlie Hebdo offices in Paris, eleven dead"), 20.0
    )
    assert not other.is_copy and len(index) == 2


def test_add_is_idempotent_on_the_item_id() -> None:
    index = NearDuplicateIndex()
    index.add("1", key(STORY_EN), 0.0, reach=5)
    index.add("2", key(STORY_EN), 1.0, reach=5)
    again = index.add("2", key(STORY_EN), 1.0, reach=5)
    assert (again.is_copy, again.copies, again.reach) == (True, 2, 10)


def test_state_round_trips_through_json_and_expires() -> None:
    index = NearDuplicateIndex()
    index.add("1", key(STORY_EN), 0.0, reach=5)
    index.add("2", key(STORY_ZH), 100.0, reach=1)
    index.add("3", None, 100.0)
    state = json.loads(json.dumps(index.to_dict()))
    restored = NearDuplicateIndex.from_dict(state)
    assert restored.add("4", key(STORY_EN), 101.0, reach=5).representative_id == "1"
    assert restored.add("2", key(STORY_ZH), 100.0, reach=1).copies == 1  # replay: no double count
    expiring = NearDuplicateIndex.from_dict(state)
    assert expiring.expire(older_than=50.0) == 1
    assert not expiring.add("5", key(STORY_EN), 102.0).is_copy
    assert expiring.add("6", key(STORY_ZH), 102.0).representative_id == "2"


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
@settings(deadline=None)
def test_hamming_is_a_metric(a: int, b: int, c: int) -> None:
    assert hamming(a, b) == hamming(b, a)
    assert hamming(a, a) == 0
    assert hamming(a, c) <= hamming(a, b) + hamming(b, c)


@given(st.integers(0, 2**32), st.integers(1, 6))
@settings(max_examples=60, deadline=None)
def test_banded_index_finds_exactly_what_brute_force_finds(seed: int, max_distance: int) -> None:
    rng = random.Random(seed)
    index = NearDuplicateIndex(max_distance=max_distance)
    representatives: dict[str, int] = {}
    base = [rng.getrandbits(64) for _ in range(5)]
    for number in range(60):
        value = rng.choice(base)
        for _ in range(rng.randint(0, max_distance + 2)):
            value ^= 1 << rng.randrange(64)
        close = sorted(
            (hamming(value, kept), rid)
            for rid, kept in representatives.items()
            if hamming(value, kept) <= max_distance
        )
        result = index.add(str(number), DuplicateKey(value, 10), float(number))
        if close:
            assert result.is_copy and result.representative_id == close[0][1]
        else:
            assert not result.is_copy
            representatives[str(number)] = value
