"""Sentiment: negative / neutral / positive with probabilities, for Chinese and English.

Chinese: one binary model (negative/positive) trained across hotel, e-commerce, delivery and
book/computer reviews; the review corpora have no neutral class, so "neutral" is reported when
the model is torn (P(positive) within `ZH_NEUTRAL_BAND` of 0.5) and the three probabilities say
so. English: a three-class model trained on airline tweets. Text in another language is read
by the model of its dominant script.
"""

from __future__ import annotations

from dataclasses import dataclass

from clamor.analysis.explain import Evidence, evidence
from clamor.analysis.frozen import quick_init
from clamor.analysis.hashing import Hashed
from clamor.analysis.language import ZH
from clamor.analysis.linear import Vector, as_vector
from clamor.analysis.registry import SENTIMENT_EN, SENTIMENT_ZH, get_model, transformer_for

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
LABELS = (NEGATIVE, NEUTRAL, POSITIVE)
ZH_NEUTRAL_BAND = 0.1
REASONS = 5


@quick_init
@dataclass(frozen=True, slots=True)
class Sentiment:
    label: str
    probabilities: dict[str, float]
    reasons: tuple[Evidence, ...] = ()

    @property
    def p_negative(self) -> float:
        return self.probabilities[NEGATIVE]

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "reasons": [r.to_dict() for r in self.reasons],
        }


NO_SIGNAL = Sentiment(NEUTRAL, {NEGATIVE: 0.0, NEUTRAL: 1.0, POSITIVE: 0.0})


def model_for(language: str) -> str:
    return SENTIMENT_ZH if language == ZH else SENTIMENT_EN


def classify(
    text: str,
    language: str,
    raw_searchable: str = "",
    features: Hashed | Vector | None = None,
    scored: dict[str, float] | None = None,
) -> Sentiment:
    """Sentiment of a normalised `text`; reasons are located in `raw_searchable` (see explain).
    `features`: the text's hashed features or vector for this model, when the caller has them.
    `scored`: the configured transformer's probabilities for the text, when the caller batched
    them (see registry.transformer_for); otherwise the transformer, if any, is asked here."""
    model = get_model(model_for(language))
    vector = as_vector(model, text, features)
    transformer = transformer_for(language) if scored is None else None
    if transformer is not None:
        scored = transformer.probabilities_many([text])[0]
    if scored is not None:
        by_class = scored  # the user's own model decides; the n-grams still explain
    elif len(vector.ids) == 0:
        return NO_SIGNAL
    else:
        probs = model.probabilities(model.decision(vector))
        by_class = dict(zip(model.classes, probs.tolist(), strict=True))
    label, distribution = _three_way(by_class)
    if len(vector.ids) == 0:
        return Sentiment(label, distribution)
    if label not in model.classes:  # neutral, from a binary model: explain the likelier side
        label_of_model = max(model.classes, key=lambda c: by_class.get(c, 0.0))
    else:
        label_of_model = label
    winner = model.classes.index(label_of_model)
    reasons = model.contributions(text, vector, winner, top=REASONS)
    return Sentiment(label, distribution, evidence(raw_searchable or text, reasons))


def _three_way(by_class: dict[str, float]) -> tuple[str, dict[str, float]]:
    """Map a binary or three-class result onto the three labels."""
    if NEUTRAL in by_class:
        return max(by_class, key=by_class.__getitem__), by_class
    positive = by_class[POSITIVE]
    if abs(positive - 0.5) < ZH_NEUTRAL_BAND:
        # Torn between the two: the text is mixed or says little either way.
        return NEUTRAL, {NEGATIVE: 1.0 - positive, NEUTRAL: 0.0, POSITIVE: positive}
    label = POSITIVE if positive > 0.5 else NEGATIVE
    return label, {NEGATIVE: 1.0 - positive, NEUTRAL: 0.0, POSITIVE: positive}
