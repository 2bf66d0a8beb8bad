"""Held-out splits and de-duplication of training text against every held-out text."""

from __future__ import annotations

from pathlib import Path

import pytest

from clamor.analysis.corpora import HeldOut, build_zh_corpus, stratified_split
from clamor.analysis.recipes import source_balanced_weights

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_held_out_catches_copies_with_other_spacing_script_or_truncation() -> None:
    original = "这个宾馆比较陈旧了，特价的房间也很一般。总体来说一般，不会再来了"
    held = HeldOut([original])
    assert held.contains("這個賓館比較陳舊了 特價的房間也很一般 總體來說一般，不會再來了")
    assert held.contains(original[:-6])  # truncated copy: same first 20 key characters
    assert held.contains("我想说：" + original[4:])  # same last 20 key characters
    assert not held.contains("这个宾馆很新，房间很大，服务很好，总体来说非常满意，还会再来")


def test_split_is_stratified_and_reproducible() -> None:
    labels = ["negative"] * 60 + ["positive"] * 40
    train, test = stratified_split(labels)
    assert (train, test) == stratified_split(labels)
    assert len(test) == 20 and sorted(train + test) == list(range(100))
    assert sum(labels[i] == "positive" for i in test) == 8


def test_source_balanced_weights_halve_the_imbalance() -> None:
    labels = ["negative", "negative", "negative", "negative", "positive", "positive"]
    sources = ["waimai_10k"] * 6
    weights = source_balanced_weights(labels, sources)
    neg, pos = weights[0], weights[-1]
    assert pos > neg
    # 4:2 raw becomes 4*neg : 2*pos = sqrt(2) : 1 — halfway (in log terms) toward 1:1.
    assert (4 * neg) / (2 * pos) == pytest.approx(2**0.5)


def _write(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def test_build_zh_corpus_removes_every_held_out_copy(tmp_path: Path) -> None:
    luge_test = "1\t房间干净整洁，服务周到热情，早餐丰富可口，位置也很方便，下次还会选择"
    shared_review = "房间干净整洁，服务周到热情，早餐丰富可口，位置也很方便，下次还会选择"
    _write(tmp_path / "chnsenticorp_luge/test.tsv", "label\ttext_a", [luge_test])
    _write(tmp_path / "chnsenticorp_luge/train.tsv", "label\ttext_a", ["0\t太差了，不推荐"])
    _write(tmp_path / "chnsenticorp_luge/dev.tsv", "label\ttext_a", ["1\t很好，推荐"])
    reviews = [f"{i % 2},评论{i}号，{'很好' if i % 2 else '很差'}" for i in range(40)]
    for folder, name in [
        ("waimai_10k", "waimai_10k.csv"),
        ("chnsenticorp_htl", "ChnSentiCorp_htl_all.csv"),
    ]:
        _write(tmp_path / folder / name, "label,review", reviews)
    shopping = [f"酒店,{r}" for r in reviews] + [f"酒店,1,{shared_review}"]
    _write(
        tmp_path / "online_shopping_10_cats/online_shopping_10_cats.csv",
        "cat,label,review",
        shopping,
    )
    corpus = build_zh_corpus(tmp_path)
    assert shared_review not in corpus.train.texts  # a copy of a LUGE test text
    held = {t for test in corpus.tests.values() for t in test.texts}
    assert not held & set(corpus.train.texts)
    assert len(corpus.sources) == len(corpus.train)
    assert corpus.sources[0] == "chnsenticorp_luge"


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not beside the clone")
def test_real_corpus_has_no_test_text_in_training() -> None:
    corpus = build_zh_corpus(SHARED)
    held = HeldOut(t for test in corpus.tests.values() for t in test.texts)
    assert not any(held.contains(t) for t in corpus.train.texts[:5000])
    assert len(corpus.tests["chnsenticorp_luge_test"]) == 1200
