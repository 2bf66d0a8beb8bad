"""Build the demo stream (`stream.jsonl`) from the shared public datasets.

    python -m clamor.monitoring.demo.build /path/to/shared/data

Two hours of stream: US airline tweets as background (their own spacing, from 2015-02-23
12:00 UTC), and the first 45 minutes of the PHEME germanwings-crash source tweets shifted to
start 40 minutes in. Played at 120× by `clamor demo`, the event begins after ~20 s and raises an
alert a few seconds later. Small on purpose (a fixture, not a copy of the datasets).
"""

from __future__ import annotations

import csv
import html
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
START = datetime(2015, 2, 23, 12, 0, tzinfo=UTC)
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"


def build(data: Path) -> list[dict]:
    posts = []
    with open(data / "twitter_us_airline" / "Tweets.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            at = datetime.strptime(row["tweet_created"], "%Y-%m-%d %H:%M:%S %z")
            if START <= at < START + timedelta(hours=2):
                posts.append(
                    {
                        "platform": "twitter",
                        "id": row["tweet_id"],
                        "author": row["name"],
                        "text": html.unescape(row["text"]),  # Twitter escapes & < >
                        "created_at": at.astimezone(UTC).isoformat(),
                        "reposts": int(row["retweet_count"] or 0),
                    }
                )
    tweets = []
    for path in sorted((data / "pheme_source_tweets").glob("germanwings-crash-*.json")):
        tweets += json.loads(path.read_text(encoding="utf-8"))
    first = min(datetime.strptime(t["created_at"], TWITTER_TIME) for t in tweets)
    shift = START + timedelta(minutes=40) - first
    for tweet in tweets:
        at = datetime.strptime(tweet["created_at"], TWITTER_TIME)
        if at >= first + timedelta(minutes=45):
            continue
        posts.append(
            {
                "platform": "twitter",
                "id": tweet["id_str"],
                "author": tweet["user"]["screen_name"],
                "author_followers": tweet["user"]["followers_count"],
                "author_verified": tweet["user"]["verified"],
                "text": html.unescape(tweet["text"]),
                "created_at": (at + shift).astimezone(UTC).isoformat(),
                "reposts": tweet["retweet_count"],
                "likes": tweet["favorite_count"],
            }
        )
    unique = {post["id"]: post for post in posts}  # the airline set repeats some ids
    return sorted(unique.values(), key=lambda post: (post["created_at"], post["id"]))


def main() -> None:
    posts = build(Path(sys.argv[1]))
    with open(HERE / "stream.jsonl", "w", encoding="utf-8") as handle:
        for post in posts:
            handle.write(json.dumps(post, ensure_ascii=False) + "\n")
    print(f"{len(posts)} posts written to {HERE / 'stream.jsonl'}")


if __name__ == "__main__":
    main()
