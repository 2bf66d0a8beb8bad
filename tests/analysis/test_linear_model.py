"""The exported numpy model must compute what training computed with scipy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clamor.analysis.features import FeatureConfig, char_ngrams, cue_features, extract, word_ngrams
from clamor.analysis.hashing import hash_features
from clamor.analysis.linear import LinearTextModel
from clamor.analysis.normalize import model_text
from clamor.analysis.training import FitSpec, count_matrix, fit_model, fit_temperature, tfidf

POSITIVE_REVIEWS = [
    "房间干净，服务很好，下次还来",
    "味道很好，送餐也快，推荐",
    "质量不错，物流很快，满意",
    "非常喜欢，性价比高，好评",
    "屏幕清晰，运行流畅，很好用",
    "早餐丰富，位置方便，很满意",
] * 4
NEGATIVE_REVIEWS = [
    "房间很脏，服务态度差，不会再来",
    "太难吃了，送了两个小时，差评",
    "质量太差，用了两天就坏了",
    "客服不理人，退货也不给退，垃圾",
    "屏幕有坏点，卡得要死，失望",
    "隔音差，空调坏了，很失望",
] * 4


def test_char_and_word_ngrams() -> None:
    assert char_ngrams("很好", 1, 2) == ["很", "好", "很好"]
    assert word_ngrams("bad bag!") == ["w:bad", "w:bag", "w:!", "b:bad bag", "b:bag !"]
    assert cue_features("我的个人信息被泄露了") == ["L:privacy"]
    assert extract("ok", FeatureConfig(1, 1, words=True, word_bigrams=False)) == ["o", "k", "w:ok"]


@pytest.fixture(scope="module")
def tiny_model() -> LinearTextModel:
    texts = POSITIVE_REVIEWS + NEGATIVE_REVIEWS
    labels = ["positive"] * len(POSITIVE_REVIEWS) + ["negative"] * len(NEGATIVE_REVIEWS)
    spec = FitSpec(FeatureConfig(1, 2), nblr_c=4.0, lr_c=1.0, min_df=1, bits=16)
    return fit_model(texts, labels, ["negative", "positive"], spec, "tiny")


def test_fitted_model_separates_training_text(tiny_model: LinearTextModel) -> None:
    assert tiny_model.predict(model_text("服务很好，很满意"))[1] > 0.5
    assert tiny_model.predict(model_text("太差了，坏了，失望"))[0] > 0.5
    assert tiny_model.version.startswith("tiny-")


def test_hashing_is_stable_and_covers_every_feature() -> None:
    config = FeatureConfig(1, 3, words=True, cues=True, gaps=True)
    text = "不太好吃 ok! 个人信息泄露"
    first = hash_features(text, config, 20)
    assert np.array_equal(first.buckets, hash_features(text, config, 20).buckets)
    described = [first.describe(text, i) for i in range(len(first.buckets))]
    # One hashed feature per string feature, and they describe the same strings.
    expected = extract(text, config)
    expected = [e[2:] if e.startswith(("w:", "b:")) else e for e in expected]
    assert sorted(described) == sorted(expected)
    assert first.buckets.min() >= 0 and first.buckets.max() < 2**20


def test_numpy_inference_equals_sparse_matrix_arithmetic(tiny_model: LinearTextModel) -> None:
    text = model_text("房间很脏很脏，但是早餐丰富")
    counts = count_matrix([text], tiny_model.config, tiny_model.bits)
    row = tfidf(counts, tiny_model.idf)
    expected = float((row @ tiny_model.coef.astype(np.float64))[0, 0] + tiny_model.intercept[0])
    got = float(tiny_model.decision(tiny_model.vectorize(text))[0])
    assert got == pytest.approx(expected, abs=1e-4)


def test_save_and_load_round_trip(tiny_model: LinearTextModel, tmp_path: Path) -> None:
    path = tmp_path / "tiny.npz"
    tiny_model.save(path)
    loaded = LinearTextModel.load(path)
    assert loaded.classes == tiny_model.classes
    assert loaded.config == tiny_model.config
    assert loaded.version == tiny_model.version
    assert loaded.n_features == tiny_model.n_features
    for text in ("服务很好", "质量太差", ""):
        a = tiny_model.predict(model_text(text))
        b = loaded.predict(model_text(text))
        assert np.allclose(a, b, atol=2e-3)  # weights are stored as float16
    # The loaded model, built straight from the stored rows, is the model the constructor makes
    # of those (float16) weights: same tables, same numbers out.
    rebuilt = LinearTextModel(
        loaded.idf,
        loaded.coef,
        loaded.intercept,
        loaded.classes,
        loaded.config,
        loaded.bits,
        loaded.temperature,
        loaded.version,
    )
    assert np.array_equal(rebuilt._rows, loaded._rows)
    assert np.array_equal(rebuilt.idf, loaded.idf)
    for text in ("服务很好", "质量太差", "服务很好，质量太差", ""):
        vector = loaded.vectorize(model_text(text))
        assert np.array_equal(rebuilt.decision(vector), loaded.decision(vector))
        for class_index in range(len(loaded.classes)):
            assert rebuilt.contributions(text, vector, class_index) == (
                loaded.contributions(text, vector, class_index)
            )


def test_contributions_name_the_words_that_decided(tiny_model: LinearTextModel) -> None:
    text = model_text("质量太差")
    top = tiny_model.contributions(text, tiny_model.vectorize(text), class_index=0, top=3)
    assert top and all(c.weight > 0 for c in top)
    assert all(c.feature in text for c in top)


def test_unknown_text_has_no_features(tiny_model: LinearTextModel) -> None:
    assert len(tiny_model.vectorize("zzzz qqqq").ids) == 0


def test_temperature_recovers_a_known_scale() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(4000, 1))
    y = (rng.random(4000) < 1 / (1 + np.exp(-true_logits[:, 0]))).astype(int)
    # The model is twice as confident as it should be: the fitted temperature must be ~2.
    assert fit_temperature(true_logits * 2, y) == pytest.approx(2.0, rel=0.15)
