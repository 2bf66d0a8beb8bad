"""`clamor replay FILE --speed N`: play a timestamped file as a live stream (demos, drills,
benchmarks).

Formats, recognised by content:

- JSONL of posts (the webhook's format, one post per line — see `posts.py`);
- a JSON array of tweets, or a folder of such files (the PHEME events);
- CSV of the US airline tweets (`tweet_id, airline_sentiment, …, tweet_created`);
- CSV of the customer-support tweets (`tweet_id, author_id, inbound, created_at, text …`).

A bad line is reported with its line number and skipped; the rest plays. Times are rebased so
that the stream keeps its own spacing and its last post falls when the replay ends: played at
`--speed N` (N seconds of stream time per wall-clock second; `--speed 0` as fast as possible)
the stream's clock catches up with the wall clock only at the end, so no post is ever stamped
in the future (pages would show alerts "opened" hours from now).
"""

from __future__ import annotations

import csv
import html
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from clamor.core import clock
from clamor.core.errors import ValidationError
from clamor.intake.service import ItemIn
from clamor.monitoring.posts import PostError, post_to_item, read_jsonl

TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Loaded:
    items: list[ItemIn]  # in stream order, each with published_at
    problems: list[Problem]
    format: str


def load(path: Path) -> Loaded:
    """Read a replay file (or a folder of PHEME files); bad lines become problems."""
    if not path.exists():
        raise ValidationError.keyed("error.monitoring.replay_missing", field="file", path=str(path))
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise ValidationError.keyed(
            "error.monitoring.replay_empty_folder", field="file", path=str(path)
        )
    items: list[ItemIn] = []
    problems: list[Problem] = []
    kinds = set()
    for file in files:
        kind, rows = _rows(file)
        kinds.add(kind)
        for line, row in rows:
            if isinstance(row, PostError):
                problems.append(Problem(file.name, line, row.message.split(": ", 1)[-1]))
                continue
            try:
                item = post_to_item(row)
                if item.published_at is None:
                    raise ValidationError.keyed(
                        "error.monitoring.replay_no_time", field="created_at"
                    )
            except ValidationError as exc:
                problems.append(Problem(file.name, line, exc.message))
                continue
            items.append(item)
    items.sort(key=lambda item: (item.published_at, item.source, item.external_id))
    return Loaded(items, problems, "+".join(sorted(kinds)))


def _rows(file: Path) -> tuple[str, Iterator[tuple[int | None, Any]]]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError.keyed(
            "error.monitoring.replay_not_utf8", field="file", path=str(file), detail=exc.reason
        ) from None
    head = text.lstrip()[:1]
    if head == "[":
        try:
            tweets = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError.keyed(
                "error.monitoring.replay_bad_json",
                field="file",
                path=str(file),
                line=exc.lineno,
                column=exc.colno,
                detail=exc.msg,
            ) from None
        return "pheme", ((None, _tweet_post(t)) for t in tweets)
    if head == "{":
        return "jsonl", read_jsonl(text)
    reader = csv.DictReader(text.splitlines())
    columns = set(reader.fieldnames or [])
    if {"tweet_id", "airline_sentiment", "tweet_created", "text"} <= columns:
        return "airline", _csv_rows(reader, _airline_post)
    if {"tweet_id", "author_id", "inbound", "created_at", "text"} <= columns:
        return "twcs", _csv_rows(reader, _twcs_post)
    raise ValidationError.keyed(
        "error.monitoring.replay_unknown_format", field="file", path=str(file)
    )


def _csv_rows(
    reader: csv.DictReader, convert: Callable[[dict[str, str]], dict[str, Any]]
) -> Iterator[tuple[int, Any]]:
    for row in reader:
        line = reader.line_num
        try:
            yield line, convert(row)
        except (ValueError, TypeError, KeyError) as exc:
            yield line, PostError(0, line, None, f"line {line}: {exc}")


def _tweet_post(tweet: object) -> object:
    if not isinstance(tweet, dict):
        return tweet  # post_to_item reports it
    user = tweet.get("user") or {}
    created = tweet.get("created_at")
    return _clean(
        {
            "platform": "twitter",
            "id": tweet.get("id_str") or tweet.get("id"),
            "text": _tweet_text(tweet.get("text")),
            "author": user.get("screen_name"),
            "author_followers": user.get("followers_count"),
            "author_verified": user.get("verified"),
            "created_at": _twitter_time(created) if isinstance(created, str) else created,
            "reposts": tweet.get("retweet_count"),
            "likes": tweet.get("favorite_count"),
            "parent_id": tweet.get("in_reply_to_status_id_str"),
        }
    )


def _airline_post(row: dict[str, str]) -> dict[str, Any]:
    created = datetime.strptime(row["tweet_created"], "%Y-%m-%d %H:%M:%S %z")
    return _clean(
        {
            "platform": "twitter",
            "id": row["tweet_id"],
            "text": _tweet_text(row["text"]),
            "author": row.get("name") or None,
            "created_at": created.isoformat(),
            "reposts": int(row.get("retweet_count") or 0),
        }
    )


def _twcs_post(row: dict[str, str]) -> dict[str, Any]:
    return _clean(
        {
            "platform": "twitter",
            "id": row["tweet_id"],
            "text": _tweet_text(row["text"]),
            "author": row.get("author_id") or None,
            "created_at": _twitter_time(row["created_at"]),
            "parent_id": (row.get("in_response_to_tweet_id") or "").split(".")[0] or None,
        }
    )


def _tweet_text(value: object) -> object:
    """Twitter hands out tweet text with &amp; &lt; &gt; escaped: read them as the characters
    people typed (else "&amp;" shows on pages and becomes a topic keyword)."""
    return html.unescape(value) if isinstance(value, str) else value


def _twitter_time(value: str) -> str:
    return datetime.strptime(value, TWITTER_TIME).isoformat()


def _clean(post: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in post.items() if value is not None}


# -- playing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Played:
    items: int
    batches: int
    stream_seconds: float
    wall_seconds: float


def _rebase_offset(first: datetime, last: datetime, speed: float) -> timedelta:
    """What to add to each post's time so that the last one is stamped when the replay ends."""
    playing_for = (last - first).total_seconds() / speed if speed > 0 else 0.0
    return clock.now() + timedelta(seconds=playing_for) - last


def play(
    items: Sequence[ItemIn],
    speed: float,
    sink: Callable[[list[ItemIn]], None],
    *,
    rebase: bool = True,
    batch_size: int = 200,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Played:
    """Hand `items` to `sink` in batches, paced at `speed` × stream time (0: no pacing)."""
    if not items:
        return Played(0, 0, 0.0, 0.0)
    first, last = items[0].published_at, items[-1].published_at
    assert first is not None and last is not None
    offset = _rebase_offset(first, last, speed) if rebase else None
    started = monotonic()
    pending: list[ItemIn] = []
    batches = 0
    for item in items:
        assert item.published_at is not None
        stream_offset = (item.published_at - first).total_seconds()
        if speed > 0:
            wait = started + stream_offset / speed - monotonic()
            if wait > 0:
                if pending:
                    sink(pending)
                    batches += 1
                    pending = []
                sleep(wait)
        pending.append(replace(item, published_at=item.published_at + offset) if offset else item)
        if len(pending) >= batch_size:
            sink(pending)
            batches += 1
            pending = []
    if pending:
        sink(pending)
        batches += 1
    return Played(len(items), batches, (last - first).total_seconds(), monotonic() - started)
