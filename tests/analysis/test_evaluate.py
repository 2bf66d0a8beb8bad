from __future__ import annotations

import json
from pathlib import Path

import pytest

from clamor.analysis.evaluate import normalise_sentiment_label, read_labelled, score
from clamor.core.errors import ValidationError


def test_score_accuracy_macro_f1_and_confusion() -> None:
    truth = ["neg", "neg", "neg", "pos", "pos", "neu"]
    guess = ["neg", "neg", "pos", "pos", "neg", "neu"]
    report = score(truth, guess, ["neg", "neu", "pos"])
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.confusion == [[2, 0, 1], [0, 1, 0], [1, 0, 1]]
    assert report.per_class["neg"].precision == pytest.approx(2 / 3)
    assert report.per_class["pos"].recall == pytest.approx(1 / 2)
    expected_macro = (2 / 3 + 1.0 + 0.5) / 3
    assert report.macro_f1 == pytest.approx(expected_macro)
    assert json.loads(json.dumps(report.to_dict()))["n"] == 6


def test_absent_classes_do_not_count_in_macro_f1() -> None:
    report = score(["a", "a"], ["a", "a"], ["a", "b"])
    assert report.macro_f1 == 1.0


def test_sentiment_label_aliases() -> None:
    assert normalise_sentiment_label("0") == "negative"
    assert normalise_sentiment_label(" Positive ") == "positive"
    with pytest.raises(ValidationError):
        normalise_sentiment_label("great")


def test_readers(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text('text,label\n"好,很好",1\n', encoding="utf-8")
    (tmp_path / "a.tsv").write_text('label\ttext_a\n0\t说"差"\n', encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"text": "ok", "label": "neutral"}\n\n', encoding="utf-8")
    assert read_labelled(tmp_path / "a.csv")[0] == {"text": "好,很好", "label": "1"}
    assert read_labelled(tmp_path / "a.tsv", "text_a")[0]["text_a"] == '说"差"'
    assert read_labelled(tmp_path / "a.jsonl")[0]["label"] == "neutral"
    with pytest.raises(ValidationError, match="--text-col"):
        read_labelled(tmp_path / "a.csv", text_col="review")
    with pytest.raises(ValidationError, match="not found"):
        read_labelled(tmp_path / "missing.csv")
    (tmp_path / "b.jsonl").write_text("not json\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="line 1"):
        read_labelled(tmp_path / "b.jsonl")
