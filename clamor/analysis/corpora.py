"""Reading the shared public datasets and cutting the held-out splits (training side only).

Split rule, written down so anyone can reproduce it: read the file, drop rows whose text is
empty after stripping, keep the file order, then
`sklearn.model_selection.train_test_split(range(n), test_size=0.2, stratify=labels,
random_state=0)`. The held-out row numbers (0-based, after dropping empty rows) are also written
to `datasets/splits/` by `clamor train`.

De-duplication: a training text is dropped when its `comparison_key` equals a held-out text's,
or when the first or last 20 key characters match a held-out text of at least 20 (the sets hold
copies of the same review that differ in spacing or were truncated).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clamor.analysis.normalize import comparison_key
from clamor.core.errors import ValidationError

SEED = 0
AFFIX = 20
ZH_SPLIT_SETS = ("waimai_10k", "online_shopping_10_cats", "chnsenticorp_htl")


@dataclass(frozen=True, slots=True)
class Labelled:
    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: Iterable[int]) -> Labelled:
        idx = list(index)
        return Labelled([self.texts[i] for i in idx], [self.labels[i] for i in idx])

    def __add__(self, other: Labelled) -> Labelled:
        return Labelled(self.texts + other.texts, self.labels + other.labels)


def _open_csv(path: Path, delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> list[dict]:
    if not path.exists():
        raise ValidationError(f"data file not found: {path} (pass --data-dir)", field="data_dir")
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter, quoting=quoting))


def _binary(rows: list[dict], text_col: str) -> Labelled:
    texts, labels = [], []
    for row in rows:
        text = (row.get(text_col) or "").strip()
        if text:
            texts.append(text)
            labels.append("positive" if row["label"].strip() == "1" else "negative")
    return Labelled(texts, labels)


def load_zh(data_dir: Path, name: str) -> Labelled:
    """One Chinese binary sentiment set, labels 'negative'/'positive'."""
    if name == "waimai_10k":
        return _binary(_open_csv(data_dir / name / "waimai_10k.csv"), "review")
    if name == "online_shopping_10_cats":
        return _binary(_open_csv(data_dir / name / "online_shopping_10_cats.csv"), "review")
    if name == "chnsenticorp_htl":
        return _binary(_open_csv(data_dir / name / "ChnSentiCorp_htl_all.csv"), "review")
    if name.startswith("luge_"):
        part = name.removeprefix("luge_")
        path = data_dir / "chnsenticorp_luge" / f"{part}.tsv"
        return _binary(_open_csv(path, "\t", csv.QUOTE_NONE), "text_a")
    raise ValidationError(f"unknown dataset {name}", field="dataset")


def load_airline(data_dir: Path) -> tuple[Labelled, list[str]]:
    """Airline tweets: 3-class sentiment labels and the negative reason of each row."""
    rows = _open_csv(data_dir / "twitter_us_airline" / "Tweets.csv")
    kept = [r for r in rows if r["text"].strip()]
    data = Labelled([r["text"] for r in kept], [r["airline_sentiment"] for r in kept])
    return data, [r["negativereason"] for r in kept]


def stratified_split(labels: Sequence[str]) -> tuple[list[int], list[int]]:
    """(train rows, held-out rows) — 80/20, stratified, seed 0."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        list(range(len(labels))), test_size=0.2, stratify=list(labels), random_state=SEED
    )
    return sorted(train), sorted(test)


class HeldOut:
    """The comparison keys of every held-out text, to filter training text against."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.full: set[str] = set()
        self.heads: set[str] = set()
        self.tails: set[str] = set()
        for text in texts:
            self.add(text)

    def add(self, text: str) -> None:
        key = comparison_key(text)
        self.full.add(key)
        if len(key) >= AFFIX:
            self.heads.add(key[:AFFIX])
            self.tails.add(key[-AFFIX:])

    def contains(self, text: str) -> bool:
        key = comparison_key(text)
        if key in self.full:
            return True
        return len(key) >= AFFIX and (key[:AFFIX] in self.heads or key[-AFFIX:] in self.tails)

    def filter(self, data: Labelled) -> Labelled:
        keep = [i for i, t in enumerate(data.texts) if not self.contains(t)]
        return data.subset(keep)


@dataclass(frozen=True, slots=True)
class ZhCorpus:
    train: Labelled
    sources: list[str]  # the dataset each training row came from
    tests: dict[str, Labelled]
    removed: int


def build_zh_corpus(data_dir: Path) -> ZhCorpus:
    """All Chinese sentiment text for training, minus every held-out text (LUGE test and the
    20% splits of the three review sets), plus those held-out sets for evaluation. Where the
    sets repeat a review, the first copy is kept (LUGE first)."""
    tests: dict[str, Labelled] = {"chnsenticorp_luge_test": load_zh(data_dir, "luge_test")}
    pools: list[tuple[str, Labelled]] = [
        ("chnsenticorp_luge", load_zh(data_dir, "luge_train") + load_zh(data_dir, "luge_dev"))
    ]
    for name in ZH_SPLIT_SETS:
        data = load_zh(data_dir, name)
        train_idx, test_idx = stratified_split(data.labels)
        tests[name] = data.subset(test_idx)
        pools.append((name, data.subset(train_idx)))
    held = HeldOut(t for test in tests.values() for t in test.texts)
    texts: list[str] = []
    labels: list[str] = []
    sources: list[str] = []
    seen: set[str] = set()
    total = 0
    for source, pool in pools:
        total += len(pool)
        for text, label in zip(pool.texts, pool.labels, strict=True):
            key = comparison_key(text)
            if key in seen or held.contains(text):
                continue
            seen.add(key)
            texts.append(text)
            labels.append(label)
            sources.append(source)
    return ZhCorpus(Labelled(texts, labels), sources, tests, removed=total - len(texts))
