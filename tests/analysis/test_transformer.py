"""The optional transformer sentiment back end, run on a real (tiny) ONNX model and tokenizer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from clamor.analysis.transformer import TransformerSentiment
from clamor.core.errors import ConfigurationError
from tests.analysis import tiny_transformer


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_transformer.build(tmp_path_factory.mktemp("tiny"))


def test_scores_texts_with_the_model_and_its_tokenizer(model_dir: Path) -> None:
    model = TransformerSentiment.load(model_dir)
    good, bad, unknown, empty = model.probabilities_many(["服务很好，真棒", "太差了", "嗯", ""])
    assert good["positive"] > 0.95
    assert bad["negative"] > 0.85
    assert unknown == pytest.approx({"negative": 0.5, "positive": 0.5})
    assert empty == pytest.approx({"negative": 0.5, "positive": 0.5})
    assert re.fullmatch(r"transformer@[0-9a-f]{12}", model.version)


def test_long_texts_are_truncated_and_batches_padded(model_dir: Path) -> None:
    model = TransformerSentiment.load(model_dir)  # max_length 16 tokens
    # 40 × 差 then 好: only the first 16 tokens are read, so the praise at the end is not seen.
    texts = ["差" * 40 + "好" * 40] + ["好"] * 40  # more than one batch, of mixed lengths
    scored = model.probabilities_many(texts)
    assert len(scored) == 41
    assert scored[0]["negative"] > 0.99
    assert all(s["positive"] > 0.85 for s in scored[1:])


def test_a_hugging_face_config_with_sentiment_names_is_enough(tmp_path: Path) -> None:
    directory = tiny_transformer.build(tmp_path / "hf")
    (directory / "clamor.json").unlink()
    (directory / "config.json").write_text(
        json.dumps({"id2label": {"1": "POSITIVE", "0": "NEGATIVE"}}), encoding="utf-8"
    )
    model = TransformerSentiment.load(directory)
    assert model.config.labels == ("negative", "positive")
    assert model.reads("zh") and not model.reads("en")  # Chinese unless told otherwise


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"labels": ["LABEL_0", "LABEL_1"]}, "must name negative and positive"),
        ({"labels": ["negative", "negative"]}, "once each"),
        ({"labels": "negative,positive"}, "labels must be a list"),
        ({"labels": ["negative", "positive"], "languages": ["fr"]}, "languages"),
        ({"labels": ["negative", "positive"], "max_length": 2}, "max_length"),
    ],
)
def test_a_wrong_config_names_the_file_and_the_fix(tmp_path: Path, config: dict, says: str) -> None:
    directory = tiny_transformer.build(tmp_path / "bad", config=config)
    with pytest.raises(ConfigurationError, match=says) as caught:
        TransformerSentiment.load(directory)
    assert "clamor.json" in caught.value.message


def test_missing_files_are_named(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        TransformerSentiment.load(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigurationError, match=r"no model\.onnx"):
        TransformerSentiment.load(empty)
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (unlabelled / name).write_bytes((model_dir / name).read_bytes())
    with pytest.raises(ConfigurationError, match=r"needs clamor\.json"):
        TransformerSentiment.load(unlabelled)


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    directory = tiny_transformer.build(tmp_path / "garbage")
    (directory / "model.onnx").write_bytes(b"not a model at all")
    with pytest.raises(ConfigurationError, match="cannot load the model"):
        TransformerSentiment.load(directory)
