"""Sentiment: negative / neutral / positive with probabilities, for Chinese and English.

Chinese: one binary model (negative/positive) trained across hotel, e-commerce, delivery and
book/computer reviews; the review corpora have no neutral class, so "neutral" is reported when
the model is torn (P(positive) within `ZH_NEUTRAL_BAND` of 0.5) and the three probabilities say
so. Weibo emoticons and emoji, which the review-trained model never saw, shift its log-odds
(see emotes). English: a three-class model trained on airline tweets. Text in another language
is read by the model of its dominant script.
"""

from __future__ import annotations

from dataclasses import dataclass

from clamor.analysis.emotes import NO_EMOTES, STEP, EmoteSignal
from clamor.analysis.explain import Evidence, evidence, find_spans
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
    emotes: EmoteSignal = NO_EMOTES,
) -> Sentiment:
    """Sentiment of a normalised `text`; reasons are located in `raw_searchable` (see explain).
    `features`: the text's hashed features or vector for this model, when the caller has them.
    `scored`: the configured transformer's probabilities for the text, when the caller batched
    them (see registry.transformer_for); otherwise the transformer, if any, is asked here.
    `emotes`: the text's emoticons (see emotes); they count for the Chinese n-gram model only."""
    model = get_model(model_for(language))
    vector = as_vector(model, text, features)
    transformer = transformer_for(language) if scored is None else None
    if transformer is not None:
        scored = transformer.probabilities_many([text])[0]
    emotes = emotes if language == ZH and scored is None else NO_EMOTES
    if scored is not None:
        by_class = scored  # the user's own model decides; the n-grams still explain
    elif len(vector.ids) == 0 and not emotes:
        return NO_SIGNAL
    else:
        decision = model.decision(vector) if len(vector.ids) else model.intercept
        if emotes:  # a shift in log-odds after the temperature, so scaled back up by it
            decision = decision + emotes.shift * model.temperature
        probs = model.probabilities(decision)
        by_class = dict(zip(model.classes, probs.tolist(), strict=True))
    label, distribution = _three_way(by_class)
    if len(vector.ids) == 0:
        found = _emote_evidence(raw_searchable or text, emotes, label, model.temperature)
        return Sentiment(label, distribution, found)
    if label not in model.classes:  # neutral, from a binary model: explain the likelier side
        label_of_model = max(model.classes, key=lambda c: by_class.get(c, 0.0))
    else:
        label_of_model = label
    winner = model.classes.index(label_of_model)
    reasons = evidence(raw_searchable or text, model.contributions(text, vector, winner, REASONS))
    if emotes:
        found = _emote_evidence(raw_searchable or text, emotes, label_of_model, model.temperature)
        reasons = tuple(sorted(found + reasons, key=lambda e: -e.weight)[:REASONS])
    return Sentiment(label, distribution, reasons)


def _emote_evidence(
    haystack: str, emotes: EmoteSignal, label: str, temperature: float
) -> tuple[Evidence, ...]:
    """The emoticons that pushed toward `label` (positive or negative), as reasons, weighed in
    the units of the n-gram contributions (logits before the temperature)."""
    toward = 1 if label == POSITIVE else -1 if label == NEGATIVE else 0
    weight = STEP * temperature
    return tuple(
        Evidence(token, weight, find_spans(haystack, token))
        for token, polarity in emotes.counted
        if polarity * toward > 0
    )


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
