from __future__ import annotations

import pytest

from clamor.analysis.severity import (
    ESCALATION_MAX,
    Reach,
    escalation_hits,
    reach_from_meta,
    score_severity,
)
from clamor.core.errors import ValidationError

NEUTRAL_CATEGORIES = {"other": 1.0}


def test_calm_text_scores_low_and_escalation_raises_it() -> None:
    calm = score_severity("物流有点慢", 0.3, NEUTRAL_CATEGORIES, Reach())
    angry = score_severity(
        "手机充电时起火了，我要起诉你们并向媒体曝光", 0.99, NEUTRAL_CATEGORIES, Reach()
    )
    assert calm.score < 15
    assert angry.score >= 55
    factors = {r.factor for r in angry.reasons}
    assert {"sentiment", "escalation"} <= factors
    assert {r.detail for r in angry.reasons if r.factor == "escalation"} == {"safety", "lawsuit"}


def test_escalation_spans_point_at_the_words() -> None:
    text = "我要去12315投诉，还要找律师"
    hits = escalation_hits(text)
    start, end = hits["regulator"][0]
    assert text[start:end] == "12315"
    assert text[slice(*hits["lawsuit"][0])] == "律师"


def test_escalation_is_capped() -> None:
    text = "起火 爆炸 自杀 起诉 工信部 泄露 曝光 集体维权 lawsuit"
    result = score_severity(text, 0.0, NEUTRAL_CATEGORIES, Reach())
    escalation = sum(r.points for r in result.reasons if r.factor == "escalation")
    assert escalation <= ESCALATION_MAX


def test_reach_and_authority_add_points() -> None:
    base = score_severity("服务很差", 0.9, NEUTRAL_CATEGORIES, Reach())
    viral = score_severity(
        "服务很差", 0.9, NEUTRAL_CATEGORIES, Reach(followers=2_000_000, reposts=5000, verified=True)
    )
    media = score_severity("服务很差", 0.9, NEUTRAL_CATEGORIES, Reach(source_type="media"))
    assert viral.score > base.score + 15
    assert media.score == base.score + 10


def test_data_privacy_weighs_more_than_service() -> None:
    privacy = score_severity("x", 0.5, {"data_privacy": 0.9, "other": 0.1}, Reach())
    service = score_severity("x", 0.5, {"service_attitude": 0.9, "other": 0.1}, Reach())
    assert privacy.score > service.score


def test_score_stays_within_0_and_100() -> None:
    result = score_severity(
        "起火 自杀 起诉 曝光 泄露 集体",
        1.0,
        {"data_privacy": 1.0},
        Reach(followers=10**9, reposts=10**9, comments=10**9, likes=10**9, source_type="media"),
    )
    assert 0 <= result.score <= 100
    assert result.score == 100


def test_meta_is_validated() -> None:
    assert reach_from_meta({"followers": "1200", "verified": True}) == Reach(
        followers=1200, verified=True
    )
    assert reach_from_meta(None) == Reach()
    with pytest.raises(ValidationError) as err:
        reach_from_meta({"reposts": "many"})
    assert err.value.field == "reposts"
    with pytest.raises(ValidationError):
        reach_from_meta({"likes": -3})
