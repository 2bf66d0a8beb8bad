"""Posts from the webhook / JSONL intake: valid ones become items, each bad one gets an error
with its index, line and field, and the batch goes on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from clamor.core.errors import ValidationError
from clamor.monitoring.posts import parse_batch, post_to_item, read_jsonl

GOOD = {
    "platform": "Weibo",
    "id": 4_900_000_000_001,
    "author": "数码博主",
    "author_followers": 120000,
    "author_verified": True,
    "text": "某品牌手机充电时电池鼓包，客服态度差",
    "url": "https://weibo.com/1/2",
    "created_at": "2026-03-10T08:00:00+08:00",
    "reposts": 35,
    "comments": 12,
    "likes": 300,
    "parent_id": "4900000000000",
}


def test_a_full_post_maps_onto_an_item() -> None:
    item = post_to_item(GOOD)
    assert (item.kind, item.source, item.external_id) == ("post", "weibo", "4900000000001")
    assert item.published_at == datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
    assert item.meta == {
        "followers": 120000,
        "reposts": 35,
        "comments": 12,
        "likes": 300,
        "verified": True,
        "parent_id": "4900000000000",
    }
    assert item.raw == GOOD


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"platform": None}, "platform", "required"),
        ({"id": None}, "id", "required"),
        ({"text": ""}, "text", "required"),
        ({"text": 42}, "text", "non-empty string"),
        ({"author_followers": "many"}, "author_followers", "number"),
        ({"reposts": -1}, "reposts", "≥ 0"),
        ({"likes": 1.5}, "likes", "whole number"),
        ({"author_verified": "yes"}, "author_verified", "true or false"),
        ({"created_at": "yesterday"}, "created_at", "ISO 8601"),
        ({"created_at": "2026-03-10T08:00:00"}, "created_at", "time zone"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_bad_fields_are_named(change: dict, field: str, words: str) -> None:
    post = {**GOOD, **change}
    post = {k: v for k, v in post.items() if v is not None}
    with pytest.raises(ValidationError) as caught:
        post_to_item(post)
    assert caught.value.field == field
    assert words in caught.value.message


def test_unix_seconds_are_accepted_as_created_at() -> None:
    item = post_to_item({**GOOD, "created_at": 1_773_100_800})
    assert item.published_at == datetime(2026, 3, 10, 0, 0, tzinfo=UTC)


def test_one_bad_post_does_not_stop_the_batch() -> None:
    text = "\n".join(
        [
            '{"platform": "weibo", "id": "1", "text": "first"}',
            "{not json",
            "",
            '{"platform": "weibo", "id": "2", "text": "second", "likes": "lots"}',
            '{"platform": "weibo", "id": "3", "text": "third"}',
        ]
    )
    pairs = list(read_jsonl(text))
    decoded = [(line, value) for line, value in pairs if isinstance(value, dict)]
    bad_json = [value for _, value in pairs if not isinstance(value, dict)]
    assert [(e.line, "bad JSON" in e.message) for e in bad_json] == [(2, True)]
    good, errors = parse_batch(decoded)
    assert [item.external_id for _, item in good] == ["1", "3"]
    [error] = errors
    assert (error.line, error.field) == (4, "likes")
    assert error.to_dict() == {"index": 1, "line": 4, "field": "likes", "message": error.message}
