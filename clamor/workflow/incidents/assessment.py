"""Incident assessment (plan §4.2): severity × scope of impact × potential risk → level I–IV.

Two opinions are shown side by side, each with its reasons:

- `propose_level` — what the assessor's three ratings (each 1–4, see `SCALES`) give through a
  configurable `LevelMatrix`: the sum of the ratings picks a level, and floors make sure a single
  extreme rating (e.g. critical severity) is never averaged away.
- `suggest_level` — what the data says (volume, reach, negative share, category, linked
  complaints), so an assessor who rates a fast-spreading event too low sees the disagreement.

Neither decides: the assessor confirms a level, and a level other than the proposal needs a
reason (see the incident transition table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from clamor.core.errors import ConfigurationError, ValidationError
from clamor.workflow.vocabulary import RiskCategory

# The reasons are shown to people, in both languages: the plan's names, never the stored keys.
CATEGORY_NAMES: Mapping[RiskCategory, tuple[str, str]] = {
    RiskCategory.PRODUCT_QUALITY: ("product quality", "产品质量"),
    RiskCategory.SERVICE_ATTITUDE: ("service attitude", "服务态度"),
    RiskCategory.DATA_PRIVACY: ("data privacy", "数据隐私"),
    RiskCategory.SOCIAL_RESPONSIBILITY: ("social responsibility", "社会责任"),
    RiskCategory.OTHER: ("other", "其他"),
}


class Level(StrEnum):
    """Incident levels; I is the most serious."""

    I = "I"  # noqa: E741 - the plan's own name for the level
    II = "II"
    III = "III"
    IV = "IV"

    @property
    def rank(self) -> int:
        """1 for level I … 4 for level IV."""
        return _LEVEL_INFO[self][0]

    @property
    def color(self) -> str:
        return _LEVEL_INFO[self][1]

    @property
    def name_zh(self) -> str:
        return _LEVEL_INFO[self][2]

    @property
    def name_en(self) -> str:
        return _LEVEL_INFO[self][3]

    @property
    def engages_leadership(self) -> bool:
        """Levels I–II go to the leadership group at once (and need the GM for statements)."""
        return self.rank <= 2

    @property
    def around_the_clock(self) -> bool:
        """Red incidents count deadlines in wall-clock time, not business hours."""
        return self is Level.I

    @classmethod
    def from_rank(cls, rank: int) -> Level:
        return next(level for level in cls if level.rank == rank)


_LEVEL_INFO = {
    Level.I: (1, "red", "特别重大", "extremely serious"),
    Level.II: (2, "orange", "重大", "major"),
    Level.III: (3, "yellow", "较大", "serious"),
    Level.IV: (4, "blue", "一般", "general"),
}


def most_serious(levels: Iterable[Level]) -> Level:
    return min(levels, key=lambda level: level.rank)


class Dimension(StrEnum):
    SEVERITY = "severity"
    SCOPE = "scope"
    RISK = "risk"


@dataclass(frozen=True)
class ScaleStep:
    value: int
    zh: str
    en: str


SCALES: Mapping[Dimension, tuple[ScaleStep, ...]] = {
    Dimension.SEVERITY: (
        ScaleStep(1, "轻微：个别不满，无实际损失", "Minor: isolated dissatisfaction, no real loss"),
        ScaleStep(2, "一般：部分用户受损，可常规处理", "Moderate: some users harmed, routine fix"),
        ScaleStep(3, "严重：明显损失或安全隐患", "Serious: clear losses or a safety concern"),
        ScaleStep(
            4,
            "特别严重：人身安全、大规模数据泄露或违法",
            "Critical: personal safety, mass data leak or unlawful conduct",
        ),
    ),
    Dimension.SCOPE: (
        ScaleStep(1, "个别客户", "Individual customers"),
        ScaleStep(2, "某一产品线、地区或客户群", "One product line, region or customer group"),
        ScaleStep(3, "多个地区或大量客户", "Several regions or many customers"),
        ScaleStep(
            4, "全国范围或主流媒体广泛关注", "Nationwide, or wide mainstream media attention"
        ),
    ),
    Dimension.RISK: (
        ScaleStep(1, "低：难以扩散", "Low: unlikely to spread"),
        ScaleStep(2, "中：可能在社交媒体扩散", "Medium: may spread on social media"),
        ScaleStep(3, "高：可能引发媒体或监管关注", "High: media or regulator attention likely"),
        ScaleStep(
            4,
            "极高：可能导致监管处罚、诉讼或重大经济损失",
            "Very high: penalties, lawsuits or major losses likely",
        ),
    ),
}


@dataclass(frozen=True)
class Reason:
    code: str
    en: str
    zh: str


@dataclass(frozen=True)
class Ratings:
    """The assessor's three ratings, each 1–4."""

    severity: int
    scope: int
    risk: int

    def __post_init__(self) -> None:
        for dimension in Dimension:
            value = getattr(self, dimension.value)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
                raise ValidationError.keyed(
                    "error.incidents.rating_out_of_range", field=dimension.value, value=repr(value)
                )

    def of(self, dimension: Dimension) -> int:
        return int(getattr(self, dimension.value))

    @property
    def score(self) -> int:
        return self.severity + self.scope + self.risk


@dataclass(frozen=True)
class Floor:
    """A rating of at least `min_value` on `dimension` makes the level at least `level`."""

    dimension: Dimension
    min_value: int
    level: Level


@dataclass(frozen=True)
class LevelMatrix:
    """`score_levels`: (minimum score, level) pairs; the highest threshold reached wins."""

    score_levels: tuple[tuple[int, Level], ...]
    floors: tuple[Floor, ...] = ()

    def __post_init__(self) -> None:
        minimums = [score for score, _ in self.score_levels]
        if not minimums or min(minimums) > 3:
            raise ConfigurationError("the level matrix must give a level for the lowest score (3)")
        if len(set(minimums)) != len(minimums):
            raise ConfigurationError("the level matrix has two levels for one score")
        ordered = sorted(self.score_levels)
        ranks = [level.rank for _, level in ordered]
        if ranks != sorted(ranks, reverse=True):
            raise ConfigurationError("a higher score must never give a milder level")


DEFAULT_MATRIX = LevelMatrix(
    score_levels=((3, Level.IV), (6, Level.III), (9, Level.II), (11, Level.I)),
    floors=(
        Floor(Dimension.SEVERITY, 4, Level.II),
        Floor(Dimension.RISK, 4, Level.II),
        Floor(Dimension.SCOPE, 4, Level.III),
    ),
)


@dataclass(frozen=True)
class LevelOpinion:
    level: Level
    reasons: tuple[Reason, ...]


def _rating_reason(dimension: Dimension, value: int) -> Reason:
    step = SCALES[dimension][value - 1]
    name_zh = _ZH_DIMENSION[dimension]
    return Reason(
        dimension.value, f"{dimension} {value}: {step.en}", f"{name_zh} {value}：{step.zh}"
    )


def _floor_reason(floor: Floor) -> Reason:
    name, name_zh = floor.dimension.value, _ZH_DIMENSION[floor.dimension]
    return Reason(
        f"floor_{name}",
        f"{name} {floor.min_value}+ means at least level {floor.level}",
        f"{name_zh}达到 {floor.min_value}，至少为 {floor.level} 级",
    )


def propose_level(ratings: Ratings, matrix: LevelMatrix = DEFAULT_MATRIX) -> LevelOpinion:
    reasons = [_rating_reason(d, ratings.of(d)) for d in Dimension]
    reached = [level for minimum, level in matrix.score_levels if ratings.score >= minimum]
    level = most_serious(reached)
    reasons.append(
        Reason(
            "score",
            f"score {ratings.score} of 12 gives level {level}",
            f"总分 {ratings.score}/12，对应 {level} 级",
        )
    )
    for floor in matrix.floors:
        if ratings.of(floor.dimension) >= floor.min_value and floor.level.rank < level.rank:
            level = floor.level
            reasons.append(_floor_reason(floor))
    return LevelOpinion(level, tuple(reasons))


_ZH_DIMENSION = {
    Dimension.SEVERITY: "严重程度",
    Dimension.SCOPE: "影响范围",
    Dimension.RISK: "潜在风险",
}


# -- what the data suggests ----------------------------------------------------------------


@dataclass(frozen=True)
class Signals:
    volume: int  # items about the event in the detection window
    reach: int  # sum of views / followers of the authors
    negative_share: float  # 0..1
    category: RiskCategory
    linked_complaints: int

    def __post_init__(self) -> None:
        if not 0 <= self.negative_share <= 1:
            raise ValidationError.keyed(
                "error.incidents.negative_share_range", field="negative_share"
            )
        for name in ("volume", "reach", "linked_complaints"):
            if getattr(self, name) < 0:
                raise ValidationError.keyed("error.incidents.negative_count", field=name)


@dataclass(frozen=True)
class SignalThresholds:
    """Each triple: the counts at which a signal rates 2, 3 and 4 (below the first: 1)."""

    volume: tuple[int, int, int] = (20, 100, 500)
    reach: tuple[int, int, int] = (10_000, 100_000, 1_000_000)
    linked_complaints: tuple[int, int, int] = (3, 10, 30)
    negative_high: float = 0.6
    negative_low: float = 0.3
    sensitive_categories: frozenset[RiskCategory] = frozenset(
        {RiskCategory.DATA_PRIVACY, RiskCategory.SOCIAL_RESPONSIBILITY}
    )


DEFAULT_THRESHOLDS = SignalThresholds()


def _points(value: int, thresholds: tuple[int, int, int]) -> int:
    return 1 + sum(value >= t for t in thresholds)


def suggest_level(
    signals: Signals, thresholds: SignalThresholds = DEFAULT_THRESHOLDS
) -> LevelOpinion:
    """A level from the data: the strongest of volume, reach and linked complaints, raised by a
    mostly negative tone or a sensitive category, lowered by a mostly neutral one."""
    rated = {
        "volume": (_points(signals.volume, thresholds.volume), signals.volume, "条相关信息"),
        "reach": (_points(signals.reach, thresholds.reach), signals.reach, "触达人次"),
        "linked_complaints": (
            _points(signals.linked_complaints, thresholds.linked_complaints),
            signals.linked_complaints,
            "件关联投诉",
        ),
    }
    reasons = [
        Reason(
            name, f"{name.replace('_', ' ')} {value} rates {points}", f"{value} {zh}：{points} 分"
        )
        for name, (points, value, zh) in rated.items()
    ]
    points = max(p for p, _, _ in rated.values())
    if signals.negative_share >= thresholds.negative_high and points < 4:
        points += 1
        reasons.append(
            Reason(
                "negative_share",
                f"{signals.negative_share:.0%} negative raises it by one",
                f"负面占比 {signals.negative_share:.0%}，提高一级",
            )
        )
    elif signals.negative_share < thresholds.negative_low and points > 1:
        points -= 1
        reasons.append(
            Reason(
                "negative_share",
                f"only {signals.negative_share:.0%} negative lowers it by one",
                f"负面占比仅 {signals.negative_share:.0%}，降低一级",
            )
        )
    # A sensitive category with some traction tends to draw regulators and the press.
    if signals.category in thresholds.sensitive_categories and 1 < points < 4:
        points += 1
        name_en, name_zh = CATEGORY_NAMES.get(
            RiskCategory(signals.category), (signals.category, signals.category)
        )
        reasons.append(
            Reason(
                "category",
                f"category {name_en} is sensitive: raised by one",
                f"{name_zh}类别敏感，提高一级",
            )
        )
    level = Level.from_rank(5 - points)
    reasons.append(Reason("result", f"data suggest level {level}", f"数据建议 {level} 级"))
    return LevelOpinion(level, tuple(reasons))
