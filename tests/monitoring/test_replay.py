"""Replay files: the shared datasets' formats, bad lines reported with their line number, and
pacing at N × stream time (checked with a controlled clock, not by timing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clamor.core.errors import ValidationError
from clamor.intake.service import ItemIn
from clamor.monitoring.replay import load, play

AIRLINE_HEADER = (
    "tweet_id,airline_sentiment,airline_sentiment_confidence,negativereason,"
    "negativereason_confidence,airline,airline_sentiment_gold,name,negativereason_gold,"
    "retweet_count,text,tweet_coord,tweet_created,tweet_location,user_timezone"
)
AIRLINE = "\n".join(
    [
        AIRLINE_HEADER,
        "570306133677760513,neutral,1.0,,,Virgin America,,cairdin,,0,"
        "@VirginAmerica What @dhepburn said.,,2015-02-24 11:35:52 -0800,,Eastern Time",
        "570301130888122368,positive,0.3486,,0.0,Virgin America,,jnardino,,2,"
        '"@VirginAmerica plus you\'ve added commercials, to the experience",,'
        "2015-02-24 11:15:59 -0800,,Pacific Time",
        "570301083672813571,neutral,0.6837,,,Virgin America,,yvonnalynn,,0,"
        "@VirginAmerica I didn't today...,,not a date,Lets Play,Central Time",
        "",
    ]
)

TWCS = "\n".join(
    [
        ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id",
        "0,1,sprintcare,False,Tue Oct 31 22:10:47 +0000 2017,@115712 I understand.,2,3.0",
        "1,2,115712,True,Tue Oct 31 22:11:45 +0000 2017,@sprintcare fees &amp; &lt;delays&gt;,,1.0",
        "",
    ]
)


def test_airline_csv_with_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "Tweets.csv"
    path.write_text(AIRLINE, encoding="utf-8")
    loaded = load(path)
    assert loaded.format == "airline"
    assert [i.external_id for i in loaded.items] == ["570301130888122368", "570306133677760513"]
    assert loaded.items[0].meta == {"reposts": 2} and loaded.items[0].author == "jnardino"
    [problem] = loaded.problems
    assert problem.line == 4 and "not a date" in problem.message
    assert str(problem).startswith("Tweets.csv:4: ")


def test_twcs_csv(tmp_path: Path) -> None:
    path = tmp_path / "twcs.csv"
    path.write_text(TWCS, encoding="utf-8")
    loaded = load(path)
    assert loaded.format == "twcs" and loaded.problems == []
    first, second = loaded.items
    assert first.published_at == datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)
    assert second.meta == {"parent_id": "1"} and second.author == "115712"
    assert second.text == "@sprintcare fees & <delays>"  # Twitter's HTML escapes read as typed


def test_pheme_json_folder(tmp_path: Path) -> None:
    tweets = [
        {
            "id_str": "5",
            "text": "Gunman in Ottawa",
            "created_at": "Wed Oct 22 14:00:00 +0000 2014",
            "user": {"screen_name": "cbc", "followers_count": 900000, "verified": True},
            "retweet_count": 40,
            "favorite_count": 3,
        },
        {"id_str": "6", "created_at": "Wed Oct 22 14:01:00 +0000 2014", "user": {}},
    ]
    (tmp_path / "ottawa.json").write_text(json.dumps(tweets), encoding="utf-8")
    loaded = load(tmp_path)
    [item] = loaded.items
    assert item.meta == {"followers": 900000, "verified": True, "reposts": 40, "likes": 3}
    [problem] = loaded.problems
    assert "text is required" in problem.message


def test_jsonl_posts_with_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(
        '{"platform": "weibo", "id": 1, "text": "a", "created_at": "2026-03-10T00:00:00Z"}\n'
        "{broken\n"
        '{"platform": "weibo", "id": 2, "text": "b"}\n',
        encoding="utf-8",
    )
    loaded = load(path)
    assert [i.external_id for i in loaded.items] == ["1"]
    assert [
        (p.line, "bad JSON" in p.message or "created_at" in p.message) for p in loaded.problems
    ] == [
        (2, True),
        (3, True),
    ]


def test_unknown_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="not a known replay format"):
        load(path)
    with pytest.raises(ValidationError, match="no such file"):
        load(tmp_path / "missing.jsonl")


def _items(offsets: list[int]) -> list[ItemIn]:
    start = datetime(2015, 2, 17, tzinfo=UTC)
    return [
        ItemIn(
            kind="post",
            source="twitter",
            external_id=str(n),
            text=f"post {n}",
            published_at=start + timedelta(seconds=offset),
        )
        for n, offset in enumerate(offsets)
    ]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_play_paces_at_n_times_stream_time_and_rebases(frozen_now: datetime) -> None:
    fake = FakeTime()
    batches: list[list[ItemIn]] = []
    played = play(
        _items([0, 0, 60, 120]), 30, batches.append, sleep=fake.sleep, monotonic=fake.monotonic
    )
    assert fake.sleeps == [2.0, 2.0]
    assert [[i.external_id for i in b] for b in batches] == [["0", "1"], ["2"], ["3"]]
    # 120 s of stream at 30× plays for 4 s: the last post is stamped when the replay ends, the
    # others keep their spacing before it, so no post is ever stamped in the future.
    end = frozen_now + timedelta(seconds=4)
    assert [i.published_at for b in batches for i in b] == [
        end - timedelta(seconds=120),
        end - timedelta(seconds=120),
        end - timedelta(seconds=60),
        end,
    ]
    assert (played.items, played.batches, played.stream_seconds) == (4, 3, 120.0)
    for batch, handed_at in zip(batches, (0.0, 2.0, 4.0), strict=True):  # wall seconds
        assert all(i.published_at <= frozen_now + timedelta(seconds=handed_at) for i in batch)


def test_speed_zero_plays_at_once_in_batches_and_keep_time() -> None:
    fake = FakeTime()
    batches: list[list[ItemIn]] = []
    items = _items(list(range(0, 5000, 10)))
    play(
        items,
        0,
        batches.append,
        rebase=False,
        batch_size=200,
        sleep=fake.sleep,
        monotonic=fake.monotonic,
    )
    assert fake.sleeps == []
    assert [len(b) for b in batches] == [200, 200, 100]
    assert batches[0][0].published_at == items[0].published_at
