"""`analyze()` end to end with the shipped models."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clamor.analysis.category import CATEGORIES
from clamor.analysis.pipeline import MODEL_CHARS, Analysis, analyze, analyze_many
from clamor.analysis.registry import MODEL_DIR, model_versions
from clamor.core.errors import ValidationError

pytestmark = pytest.mark.skipif(
    not (MODEL_DIR / "sentiment_zh.npz").exists(), reason="models not trained yet"
)


def assert_well_formed(result: Analysis) -> None:
    body = result.to_dict()
    json.dumps(body, ensure_ascii=False)
    probs = body["sentiment"]["probabilities"]
    assert set(probs) == {"negative", "neutral", "positive"}
    assert all(0.0 <= p <= 1.0 for p in probs.values())
    assert set(body["category"]["scores"]) == set(CATEGORIES)
    assert sum(body["category"]["scores"].values()) == pytest.approx(1.0, abs=1e-3)
    assert 0 <= body["severity"]["score"] <= 100
    assert body["model_version"] == model_versions()


def test_clear_chinese_complaint() -> None:
    text = "手机用了三天就坏了，客服态度极差，一直推脱不给退货！"
    result = analyze(text)
    assert result.language == "zh"
    assert result.sentiment.label == "negative"
    assert result.category.label in ("product_quality", "service_attitude")
    assert_well_formed(result)
    for reason in result.sentiment.reasons:
        for start, end in reason.spans:
            found = text[start:end]
            # A gapped pair ("度_差") spans its whole window; "_" stands for any character.
            assert len(found) == len(reason.text)
            assert all(r in ("_", f) for r, f in zip(reason.text, found, strict=True))


def test_clear_praise_is_positive_and_other() -> None:
    result = analyze("酒店位置很好，房间干净，服务热情，下次还会再来！")
    assert result.sentiment.label == "positive"
    assert result.category.label == "other"


def test_english_tweets() -> None:
    bad = analyze("@united worst airline ever, lost my bag and the agent was so rude")
    good = analyze("@SouthwestAir thank you for the great flight and friendly crew!")
    assert bad.language == "en" and bad.sentiment.label == "negative"
    assert good.sentiment.label == "positive"


def test_privacy_leak_with_escalation_scores_high() -> None:
    text = "刚在你们店买完东西就接到骚扰电话，我的个人信息被泄露了，我要投诉到工信部并起诉！"
    result = analyze(text, {"followers": 50000, "reposts": 300, "verified": True})
    assert result.category.label == "data_privacy"
    assert result.severity.score >= 60
    factors = {r.factor for r in result.severity.reasons}
    assert {"sentiment", "escalation", "reach", "authority", "category"} <= factors
    for reason in result.severity.reasons:
        for start, end in reason.spans:
            assert text[start:end]


def test_traditional_chinese_is_read_like_simplified() -> None:
    simplified = analyze("质量太差了，用了一天就坏了")
    traditional = analyze("質量太差了，用了一天就壞了")
    assert traditional.normalized.converted_traditional
    assert traditional.sentiment.label == simplified.sentiment.label == "negative"
    reasons = traditional.sentiment.reasons
    assert any(r.spans for r in reasons)  # spans point into the traditional text


def test_personal_data_is_found_and_masked_in_output() -> None:
    result = analyze("我的电话13812345678，快递一直不到")
    body = result.to_dict()
    assert body["pii"] == [{"kind": "mobile", "start": 4, "end": 15, "masked": "138****5678"}]
    assert "13812345678" not in json.dumps(body["pii"])


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😡😡😡🔥", "\x00\x01\x02garbage\xff", "Mixed 中英 text さ 한 ok", "[怒][怒]"],
)
def test_odd_input_gives_well_formed_analysis(text: str) -> None:
    assert_well_formed(analyze(text))


def test_empty_text_is_neutral_other() -> None:
    result = analyze("")
    assert result.sentiment.label == "neutral"
    assert result.category.label == "other"


def test_binary_garbage_bytes() -> None:
    result = analyze(bytes(range(256)) * 4)
    assert_well_formed(result)


def test_one_megabyte_of_text() -> None:
    text = "服务太差了，" * (1_000_000 // 6)
    result = analyze(text + " 联系我 13812345678")
    assert result.truncated and result.length > MODEL_CHARS
    assert result.sentiment.label == "negative"
    assert [s.kind for s in result.pii] == ["mobile"]  # searched in the whole text


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ValidationError, match="text must be a string"):
        analyze(12345)
    with pytest.raises(ValidationError, match="followers"):
        analyze("ok", {"followers": "lots"})
    with pytest.raises(ValidationError, match="metas"):
        analyze_many(["a", "b"], [None])


def test_analyze_many_lines_up_with_single_calls() -> None:
    texts = ["太难吃了", "very good service", ""]
    metas = [None, {"reposts": 10}, None]
    batch = analyze_many(texts, metas)
    singles = [analyze(t, m).to_dict() for t, m in zip(texts, metas, strict=True)]
    assert [a.to_dict() for a in batch] == singles


def test_same_input_same_output() -> None:
    text = "物流太慢了，包装也破了"
    assert analyze(text).to_dict() == analyze(text).to_dict()


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_analysed(text: str) -> None:
    assert_well_formed(analyze(text))
