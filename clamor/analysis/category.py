"""Risk category (plan §2): a score per category for one text, and the words behind it.

One bilingual linear model (character n-grams, English words, and cue groups that share a
feature across the two languages), trained on the hand-labelled Chinese set and the airline
tweets whose complaint reasons were mapped to categories (see datasets/PROVENANCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from clamor.analysis.explain import Evidence, evidence
from clamor.analysis.frozen import quick_init
from clamor.analysis.hashing import Hashed
from clamor.analysis.linear import Vector, as_vector
from clamor.analysis.registry import CATEGORY, get_model

CATEGORIES = (
    "product_quality",
    "service_attitude",
    "data_privacy",
    "social_responsibility",
    "other",
)
OTHER = "other"
REASONS = 5


@quick_init
@dataclass(frozen=True, slots=True)
class Category:
    label: str
    scores: dict[str, float]
    reasons: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "reasons": [r.to_dict() for r in self.reasons],
        }


NO_SIGNAL = Category(OTHER, {c: (1.0 if c == OTHER else 0.0) for c in CATEGORIES})


def classify(
    text: str, raw_searchable: str = "", features: Hashed | Vector | None = None
) -> Category:
    """Category scores of a normalised `text` (they sum to 1). `features`: the text's hashed
    features or vector for this model, when the caller has them."""
    model = get_model(CATEGORY)
    vector = as_vector(model, text, features)
    if len(vector.ids) == 0:
        return NO_SIGNAL
    probs = model.probabilities(model.decision(vector))
    scores = dict(zip(model.classes, probs.tolist(), strict=True))
    scores = {c: scores.get(c, 0.0) for c in CATEGORIES}
    label = max(scores, key=scores.__getitem__)
    reasons: tuple[Evidence, ...] = ()
    if label != OTHER:
        found = model.contributions(text, vector, model.classes.index(label), top=REASONS)
        reasons = evidence(raw_searchable or text, found)
    return Category(label, scores, reasons)
