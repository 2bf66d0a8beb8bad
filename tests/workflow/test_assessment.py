"""Incident levels from ratings (the matrix) and from signals (the data)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clamor.core.errors import ConfigurationError, ValidationError
from clamor.workflow.incidents.assessment import (
    DEFAULT_MATRIX,
    SCALES,
    Dimension,
    Floor,
    Level,
    LevelMatrix,
    Ratings,
    Signals,
    propose_level,
    suggest_level,
)
from clamor.workflow.vocabulary import RiskCategory


def test_levels_carry_the_plan_names() -> None:
    assert [(lv.color, lv.name_zh) for lv in Level] == [
        ("red", "特别重大"),
        ("orange", "重大"),
        ("yellow", "较大"),
        ("blue", "一般"),
    ]
    assert [lv.engages_leadership for lv in Level] == [True, True, False, False]
    assert Level.I.around_the_clock and not Level.II.around_the_clock


def test_every_scale_has_four_steps_in_both_languages() -> None:
    for dimension in Dimension:
        steps = SCALES[dimension]
        assert [s.value for s in steps] == [1, 2, 3, 4]
        assert all(s.zh and s.en for s in steps)


@pytest.mark.parametrize(
    ("ratings", "level"),
    [
        ((1, 1, 1), Level.IV),
        ((2, 2, 1), Level.IV),
        ((2, 2, 2), Level.III),
        ((3, 3, 3), Level.II),
        ((4, 4, 3), Level.I),
        ((4, 1, 1), Level.II),  # floor: critical severity
        ((1, 4, 1), Level.III),  # floor: nationwide scope
        ((1, 1, 4), Level.II),  # floor: very high risk
    ],
)
def test_default_matrix(ratings: tuple[int, int, int], level: Level) -> None:
    assert propose_level(Ratings(*ratings)).level is level


def test_proposal_gives_its_reasons() -> None:
    opinion = propose_level(Ratings(4, 1, 1))
    codes = [r.code for r in opinion.reasons]
    assert codes == ["severity", "scope", "risk", "score", "floor_severity"]
    assert "score 6" in opinion.reasons[3].en and "III" in opinion.reasons[3].en
    assert "至少为 II 级" in opinion.reasons[4].zh


def test_configurable_matrix() -> None:
    strict = LevelMatrix(((3, Level.III), (5, Level.II), (8, Level.I)), ())
    assert propose_level(Ratings(2, 2, 1), strict).level is Level.II
    with_floor = LevelMatrix(((3, Level.IV),), (Floor(Dimension.SCOPE, 3, Level.I),))
    assert propose_level(Ratings(1, 3, 1), with_floor).level is Level.I


@pytest.mark.parametrize(
    "score_levels",
    [((6, Level.IV),), ((3, Level.IV), (3, Level.III)), ((3, Level.I), (9, Level.IV))],
)
def test_bad_matrix_is_refused(score_levels: tuple[tuple[int, Level], ...]) -> None:
    with pytest.raises(ConfigurationError):
        LevelMatrix(score_levels)


@pytest.mark.parametrize("bad", [0, 5, "3", True, None])
def test_ratings_out_of_scale_are_named(bad: object) -> None:
    with pytest.raises(ValidationError) as error:
        Ratings(2, bad, 2)  # type: ignore[arg-type]
    assert error.value.field == "scope"


ratings = st.builds(Ratings, st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))


@given(ratings, st.sampled_from(list(Dimension)))
def test_raising_one_rating_never_lowers_the_level(r: Ratings, dimension: Dimension) -> None:
    if r.of(dimension) == 4:
        return
    values = {d.value: r.of(d) for d in Dimension}
    values[dimension.value] += 1
    higher = Ratings(**values)
    assert propose_level(higher, DEFAULT_MATRIX).level.rank <= propose_level(r).level.rank


def signals(**overrides: object) -> Signals:
    base: dict[str, object] = {
        "volume": 5,
        "reach": 1_000,
        "negative_share": 0.5,
        "category": RiskCategory.PRODUCT_QUALITY,
        "linked_complaints": 0,
    }
    base.update(overrides)
    return Signals(**base)  # type: ignore[arg-type]


def test_quiet_event_suggests_level_iv() -> None:
    opinion = suggest_level(signals())
    assert opinion.level is Level.IV
    assert opinion.reasons[-1].code == "result"


def test_volume_reach_and_links_each_raise_the_suggestion() -> None:
    assert suggest_level(signals(volume=150)).level is Level.II
    assert suggest_level(signals(reach=2_000_000)).level is Level.I
    assert suggest_level(signals(linked_complaints=12)).level is Level.II


def test_tone_and_category_adjust_the_suggestion() -> None:
    assert suggest_level(signals(volume=150, negative_share=0.8)).level is Level.I
    assert suggest_level(signals(volume=150, negative_share=0.1)).level is Level.III
    privacy = suggest_level(signals(volume=30, category=RiskCategory.DATA_PRIVACY))
    assert privacy.level is Level.II
    assert "category" in [r.code for r in privacy.reasons]
    # A sensitive category alone, with no traction, does not raise anything.
    assert suggest_level(signals(category=RiskCategory.DATA_PRIVACY)).level is Level.IV


def test_category_reason_names_the_category_for_people() -> None:
    """The reason people read says 数据隐私 / data privacy, never the stored key."""
    privacy = suggest_level(signals(volume=30, category=RiskCategory.DATA_PRIVACY))
    (reason,) = [r for r in privacy.reasons if r.code == "category"]
    assert "数据隐私" in reason.zh and "data privacy" in reason.en
    assert "data_privacy" not in reason.zh + reason.en


def test_bad_signals_are_named() -> None:
    with pytest.raises(ValidationError) as error:
        signals(negative_share=1.5)
    assert error.value.field == "negative_share"
    with pytest.raises(ValidationError) as error:
        signals(volume=-1)
    assert error.value.field == "volume"
