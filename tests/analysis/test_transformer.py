"""The optional transformer sentiment back end, run on a real (tiny) ONNX model and tokenizer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clamor.analysis import registry
from clamor.analysis.pipeline import analyze, analyze_many
from clamor.analysis.transformer import TransformerSentiment
from clamor.cli.main import app
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


@pytest.fixture()
def configured(model_dir: Path) -> Iterator[Path]:
    registry.use_transformer(model_dir)
    yield model_dir
    registry.use_transformer(None)


def test_analyze_takes_its_probabilities_from_the_transformer(configured: Path) -> None:
    # The tiny transformer sees two 差 and one 好: logits (4, 2), P(negative) = 1 / (1 + e^-2).
    text = "很好，就是太差太差了"
    plain = analyze(text)
    assert plain.sentiment.probabilities["negative"] == pytest.approx(0.8808, abs=1e-4)
    assert plain.sentiment.label == "negative"
    assert "transformer@" in plain.model_version
    # The reasons still come from the shipped model's n-grams, located in the text.
    assert plain.sentiment.reasons
    assert any("差" in r.text and r.spans for r in plain.sentiment.reasons)
    batched = analyze_many([text, "Good good good", "服务很好"])
    assert batched[0] == plain
    assert batched[1].sentiment.label == "positive"
    assert batched[2] == analyze("服务很好")


def test_without_a_transformer_the_shipped_model_decides(model_dir: Path) -> None:
    registry.use_transformer(None)
    assert "transformer@" not in analyze("很好").model_version


def test_eval_scores_with_a_model_dir_and_names_a_bad_one(model_dir: Path, tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("text,label\n真棒,1\n太烂了,0\n好好好,1\n差,0\n", encoding="utf-8")
    runner = CliRunner()
    try:
        good = runner.invoke(
            app, ["eval", str(labelled), "--task", "sentiment", "--model-dir", str(model_dir)]
        )
        assert good.exit_code == 0, good.output
        assert "accuracy=1.0000" in good.output
        bad = runner.invoke(
            app, ["eval", str(labelled), "--task", "sentiment", "--model-dir", str(tmp_path)]
        )
        assert bad.exit_code != 0
        assert "no model.onnx" in bad.output
    finally:
        registry.use_transformer(None)


def test_every_process_finds_the_model_through_the_environment(model_dir: Path) -> None:
    environment = {**os.environ, "CLAMOR_SENTIMENT_MODEL_DIR": str(model_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "clamor", "analyze", "太差了"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=True,
    )
    analysis = json.loads(done.stdout)
    assert "transformer@" in analysis["model_version"]
    assert analysis["sentiment"]["label"] == "negative"
