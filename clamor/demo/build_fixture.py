"""Build `complaints.json`, the demo's few hundred real complaint texts, from the shared public
datasets (negative e-commerce and food-delivery reviews in Chinese, negative airline tweets in
English). Run once by a maintainer; the output is shipped in the package:

    python -m clamor.demo.build_fixture /path/to/shared/data

Selection is deterministic (every n-th negative row), texts are de-duplicated and cut to a
readable length. Sources and their terms: see each dataset's PROVENANCE.md.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).with_name("complaints.json")
SHOPPING_CATEGORIES = ("手机", "平板", "计算机", "热水器", "洗发水", "衣服", "酒店")


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle)


def _take(rows: Iterator[dict[str, str]], count: int, step: int) -> list[dict[str, str]]:
    picked: list[dict[str, str]] = []
    for index, row in enumerate(rows):
        if index % step == 0:
            picked.append(row)
        if len(picked) == count:
            break
    return picked


def _clean(text: str, limit: int = 400) -> str:
    return " ".join(text.replace("\ufeff", "").split())[:limit]


def build(data: Path) -> list[dict[str, str]]:
    shopping = [
        r
        for r in _rows(data / "online_shopping_10_cats" / "online_shopping_10_cats.csv")
        if r["label"] == "0" and r["cat"] in SHOPPING_CATEGORIES and len(r["review"]) >= 15
    ]
    waimai = [
        r
        for r in _rows(data / "waimai_10k" / "waimai_10k.csv")
        if r["label"] == "0" and len(r["review"]) >= 12
    ]
    airline = [
        r
        for r in _rows(data / "twitter_us_airline" / "Tweets.csv")
        if r["airline_sentiment"] == "negative" and len(r["text"]) >= 60
    ]
    chosen = (
        [("online_shopping_10_cats", _clean(r["review"])) for r in _take(iter(shopping), 160, 97)]
        + [("waimai_10k", _clean(r["review"])) for r in _take(iter(waimai), 80, 43)]
        + [("twitter_us_airline", _clean(r["text"])) for r in _take(iter(airline), 100, 53)]
    )
    seen: set[str] = set()
    rows = []
    for source, text in chosen:
        if text in seen:
            continue
        seen.add(text)
        rows.append({"source": source, "text": text})
    return rows


def main(argv: list[str]) -> None:
    rows = build(Path(argv[1]))
    with OUT.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        handle.write(",\n".join(json.dumps(row, ensure_ascii=False) for row in rows))
        handle.write("\n]\n")
    print(f"{len(rows)} complaints written to {OUT}")


if __name__ == "__main__":
    main(sys.argv)
