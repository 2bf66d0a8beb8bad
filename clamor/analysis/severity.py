"""Severity 0–100 with the reasons that add up to it.

Five factors, each with a ceiling so that no single one can decide the grade alone:

| factor              | points | from                                                        |
|---------------------|--------|-------------------------------------------------------------|
| sentiment           | ≤ 25   | probability of negative sentiment                           |
| escalation words    | ≤ 40   | lawsuit, media exposure, regulator, collective action,      |
|                     |        | fire/injury, data leak, threats (strongest two groups count)|
| reach               | ≤ 20   | followers, reposts, comments, likes from `meta` (log scale) |
| source authority    | ≤ 10   | media / government source, verified account                 |
| category            | ≤ 10   | risk category weight × its score (data privacy weighs most) |

The weights are a starting point written down in one table (`ESCALATION`, `CATEGORY_WEIGHT`),
not a trained model: nobody has labelled severities yet, and a rule a duty officer can read is
better than a number nobody can explain.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from clamor.analysis.frozen import quick_init
from clamor.analysis.prefilter import AlternativesGate
from clamor.core.errors import ValidationError

SENTIMENT_MAX = 25.0
ESCALATION_MAX = 40.0
REACH_MAX = 20.0
AUTHORITY_MAX = 10.0
CATEGORY_MAX = 10.0

# group → (points, pattern). Patterns run on the normalised (simplified, lower-case) text.
ESCALATION: dict[str, tuple[float, str]] = {
    "safety": (
        25,
        r"爆炸|起火|着火|失火|冒烟|自燃|触电|漏电|烧伤|受伤|中毒|死亡|身亡|住院|送医|窒息|"
        r"\bfire\b|explod\w*|\bsmoke\b|injur\w*|hospital\w*|\bdied\b|\bdeath\b|unsafe|poison\w*",
    ),
    "threat": (25, r"自杀|跳楼|同归于尽|拼命|\bsuicide\b|\bkill\b"),
    "lawsuit": (
        20,
        r"起诉|上诉|告上法庭|法院|律师|律师函|打官司|诉讼|维权|"
        r"\blawsuit\b|\bsue\b|\bsuing\b|lawyer|attorney|legal action|\bcourt\b",
    ),
    "regulator": (
        20,
        r"工信部|消协|消费者协会|市场监管|工商局|12315|12345|信访|银保监|网信办|举报|报警|"
        r"投诉到|\bfaa\b|\bdot\b|\bbbb\b|regulator|attorney general|\bcfpb\b|\bftc\b|"
        r"report(?:ed)? (?:you|them) to",
    ),
    "data_leak": (
        20,
        r"泄露|泄漏|信息被卖|倒卖|盗号|被盗|盗刷|诈骗|骚扰电话|个人信息|隐私|"
        r"\bleak\w*|breach\w*|hacked|\bstolen\b|identity theft|\bfraud\w*|\bscam\w*|privacy",
    ),
    "media": (
        15,
        r"曝光|媒体|记者|电视台|央视|热搜|上新闻|3\.?15|三一五|发微博|"
        r"\bmedia\b|\bnews\b|reporter|journalist|go(?:ing)? viral|\bpress\b",
    ),
    "collective": (
        15,
        r"集体|联名|维权群|大家一起|很多人|所有人|受害者|"
        r"class action|everyone|all of us|petition",
    ),
}
# One pass over the text for all groups: named alternatives, `lastgroup` says which matched.
_ESCALATION_RE = re.compile(
    "|".join(f"(?P<{group}>{pattern})" for group, (_, pattern) in ESCALATION.items())
)
# The same regex, run over only the keywords whose letters occur in the text (see prefilter):
# most texts contain none, and then no regex runs at all.
_ESCALATION_GATE = AlternativesGate(
    [(group, pattern) for group, (_, pattern) in ESCALATION.items()]
)

CATEGORY_WEIGHT: dict[str, float] = {
    "data_privacy": 1.0,
    "social_responsibility": 0.8,
    "product_quality": 0.4,
    "service_attitude": 0.3,
    "other": 0.0,
}
AUTHORITY_POINTS: dict[str, float] = {"media": 10, "government": 10, "kol": 6, "verified": 5}


@quick_init
@dataclass(frozen=True, slots=True)
class Reason:
    factor: str  # sentiment | escalation | reach | authority | category
    points: float
    detail: str
    spans: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "factor": self.factor,
            "points": round(self.points, 1),
            "detail": self.detail,
            "spans": [list(s) for s in self.spans],
        }


@quick_init
@dataclass(frozen=True, slots=True)
class Severity:
    score: int
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, object]:
        return {"score": self.score, "reasons": [r.to_dict() for r in self.reasons]}


@quick_init
@dataclass(frozen=True, slots=True)
class Reach:
    followers: int = 0
    reposts: int = 0
    comments: int = 0
    likes: int = 0
    verified: bool = False
    source_type: str = ""  # media | government | kol | person | ""


_COUNT_FIELDS = ("followers", "reposts", "comments", "likes")
_NO_REACH = Reach()  # (frozen: one shared value for the many items without meta)


def reach_from_meta(meta: Mapping[str, object] | None) -> Reach:
    """Read the reach fields of `meta`; unknown keys are ignored, bad values are an error."""
    if not meta:
        return _NO_REACH
    counts: dict[str, int] = {}
    for name in _COUNT_FIELDS:
        value = meta.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            raise ValidationError(f"meta.{name} must be a count, not a boolean", field=name)
        try:
            number = int(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValidationError(
                f"meta.{name} must be a number, got {value!r}", field=name
            ) from None
        if number < 0 or not math.isfinite(float(value)):  # type: ignore[arg-type]
            raise ValidationError(f"meta.{name} must be 0 or more", field=name)
        counts[name] = number
    source = str(meta.get("source_type") or "").strip().lower()
    return Reach(verified=bool(meta.get("verified")), source_type=source, **counts)


def escalation_hits(text: str) -> dict[str, list[tuple[int, int]]]:
    """Escalation groups found in the normalised `text`, with their spans."""
    hits: dict[str, list[tuple[int, int]]] = {}
    pattern = _ESCALATION_GATE.pattern_for(text)
    if pattern is None:
        return hits
    for match in pattern.finditer(text):
        spans = hits.setdefault(match.lastgroup or "", [])
        if len(spans) < 5:
            spans.append(match.span())
    return hits


def sentiment_reason(p_negative: float) -> Reason:
    points = SENTIMENT_MAX * max(0.0, min(1.0, p_negative))
    return Reason("sentiment", points, f"negative sentiment p={p_negative:.2f}")


def escalation_reasons(hits: dict[str, list[tuple[int, int]]]) -> list[Reason]:
    """The two strongest groups count (in full, then half), capped at ESCALATION_MAX."""
    ranked = sorted(hits, key=lambda g: -ESCALATION[g][0])
    reasons, total = [], 0.0
    for rank, group in enumerate(ranked[:2]):
        points = ESCALATION[group][0] * (1.0 if rank == 0 else 0.5)
        points = min(points, ESCALATION_MAX - total)
        total += points
        reasons.append(Reason("escalation", points, group, tuple(hits[group])))
    return reasons


def reach_reason(reach: Reach) -> Reason | None:
    # Reposts spread a post furthest, then comments; followers are potential, not actual reach.
    audience = reach.reposts * 10 + reach.comments * 3 + reach.likes + reach.followers * 0.01
    if audience < 1:
        return None
    points = min(REACH_MAX, 4.0 * math.log10(1 + audience))
    detail = (
        f"followers={reach.followers} reposts={reach.reposts} "
        f"comments={reach.comments} likes={reach.likes}"
    )
    return Reason("reach", points, detail)


def authority_reason(reach: Reach) -> Reason | None:
    points = AUTHORITY_POINTS.get(reach.source_type, 0.0)
    label = reach.source_type
    if reach.verified and AUTHORITY_POINTS["verified"] > points:
        points, label = AUTHORITY_POINTS["verified"], "verified account"
    if points <= 0:
        return None
    return Reason("authority", min(points, AUTHORITY_MAX), f"source: {label}")


def category_reason(category_scores: Mapping[str, float]) -> Reason | None:
    if not category_scores:
        return None
    best = max(category_scores, key=lambda c: category_scores[c] * CATEGORY_WEIGHT.get(c, 0.0))
    points = CATEGORY_MAX * CATEGORY_WEIGHT.get(best, 0.0) * category_scores[best]
    if points < 0.5:
        return None
    return Reason("category", points, f"{best} p={category_scores[best]:.2f}")


def score_severity(
    text: str,
    p_negative: float,
    category_scores: Mapping[str, float],
    reach: Reach,
) -> Severity:
    """Add up the factors for one text (lower-case, simplified: see explain.searchable, so
    that the escalation spans are offsets in the raw text). Every point is backed by a reason."""
    reasons: list[Reason] = [sentiment_reason(p_negative)]
    reasons += escalation_reasons(escalation_hits(text))
    for optional in (
        reach_reason(reach),
        authority_reason(reach),
        category_reason(category_scores),
    ):
        if optional is not None:
            reasons.append(optional)
    reasons = [r for r in reasons if r.points >= 0.5]
    total = sum(r.points for r in reasons)
    return Severity(round(min(100.0, total)), tuple(reasons))
