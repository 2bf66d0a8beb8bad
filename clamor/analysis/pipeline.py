"""`analyze(text, meta)`: every stage of the analysis for one item, in order, as one value.

language → normalisation → sentiment → category → personal data → severity. Pure: no database,
no network, no clock; the same text, meta and model files always give the same Analysis.
Watch-query matching needs the configured queries and the near-duplicate key needs its index, so
`clamor.analysis.watch` and `clamor.analysis.dedup` are called next to this, not inside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from clamor.analysis import category as category_stage
from clamor.analysis import sentiment as sentiment_stage
from clamor.analysis.category import Category
from clamor.analysis.emotes import NO_EMOTES, read_emotes
from clamor.analysis.explain import searchable
from clamor.analysis.features import FeatureConfig
from clamor.analysis.frozen import quick_init
from clamor.analysis.hashing import Hashed, hash_batch, hash_features_many
from clamor.analysis.language import Language, detect
from clamor.analysis.linear import Vector
from clamor.analysis.normalize import (
    Normalized,
    clean_unicode,
    model_text,
    normalize_simplified,
    to_simplified,
)
from clamor.analysis.pii import PiiSpan, find_pii, redact_copy
from clamor.analysis.registry import CATEGORY, get_model, model_versions, transformer_for
from clamor.analysis.sentiment import Sentiment
from clamor.analysis.severity import Reach, Severity, reach_from_meta, score_severity
from clamor.core.errors import ValidationError

ANALYSIS_VERSION = "1"
# The models read at most this many characters: a complaint longer than a few pages says what it
# is about early on, and a 1 MB paste must not stall a worker. Personal data is searched in all.
MODEL_CHARS = 5_000


@quick_init
@dataclass(frozen=True, slots=True)
class Analysis:
    language: str
    mixed_script: bool
    normalized: Normalized
    sentiment: Sentiment
    category: Category
    pii: tuple[PiiSpan, ...]
    severity: Severity
    length: int
    truncated: bool
    model_version: str
    analysis_version: str = ANALYSIS_VERSION
    signals: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the raw personal data is not in it: only masked values)."""
        return {
            "language": self.language,
            "mixed_script": self.mixed_script,
            "length": self.length,
            "truncated": self.truncated,
            # The normalised text still carries the phone, ID and card numbers of the raw one.
            "normalized_text": redact_copy(
                self.normalized.text, [s for s in self.pii if s.start < MODEL_CHARS], model_text
            ),
            "signals": self.signals,
            "sentiment": self.sentiment.to_dict(),
            "category": self.category.to_dict(),
            "pii": [span.to_dict() for span in self.pii],
            "severity": self.severity.to_dict(),
            "model_version": self.model_version,
            "analysis_version": self.analysis_version,
        }


def as_text(text: object) -> str:
    """Accept str, or bytes that are decoded as UTF-8 (bad bytes replaced); anything else is a
    caller's mistake."""
    if isinstance(text, str):
        return text
    if isinstance(text, bytes | bytearray):
        return bytes(text).decode("utf-8", errors="replace")
    raise ValidationError(f"text must be a string, got {type(text).__name__}", field="text")


def _signals(norm: Normalized) -> dict[str, list[str]]:
    found = {
        "urls": list(norm.urls),
        "mentions": list(norm.mentions),
        "repost_chain": list(norm.repost_chain),
        "emoticons": list(norm.emoticons),
        "emoji": list(norm.emoji),
    }
    return {k: v for k, v in found.items() if v}


def analyze(text: object, meta: Mapping[str, object] | None = None) -> Analysis:
    """Analyse one item. `meta` may carry followers, reposts, comments, likes, verified and
    source_type (media | government | kol | person); other keys are ignored."""
    item = _prepare(text, meta)
    # Both models read character n-grams and words of the same text: hash them once.
    for_sentiment, for_category = hash_features_many(item.norm.text, _wanted(item.sentiment_model))
    return _finish(item, for_sentiment, for_category)


# analyze_many handles this many items per round of batch numpy calls (memory stays small).
BATCH = 512


def analyze_many(
    texts: Iterable[object], metas: Sequence[Mapping[str, object] | None] | None = None
) -> list[Analysis]:
    """Analyse a batch; `metas`, when given, lines up with `texts`. The same results as
    `analyze` one by one: the features of the whole batch are hashed, counted and weighted
    with whole-batch numpy calls (see hashing.hash_batch, LinearTextModel.vectorize_many)."""
    items = list(texts)
    if metas is not None and len(metas) != len(items):
        raise ValidationError(
            f"metas has {len(metas)} entries for {len(items)} texts", field="metas"
        )
    prepared = [_prepare(t, metas[i] if metas is not None else None) for i, t in enumerate(items)]
    results: list[Analysis | None] = [None] * len(prepared)
    for begin in range(0, len(prepared), BATCH):
        chunk = range(begin, min(begin + BATCH, len(prepared)))
        # The sentiment model depends on the language: one batch per model.
        by_model: dict[str, list[int]] = {}
        for i in chunk:
            by_model.setdefault(prepared[i].sentiment_model, []).append(i)
        category_model = get_model(CATEGORY)
        for name, indexes in by_model.items():
            sentiment_model = get_model(name)
            hashed = hash_batch([prepared[i].norm.text for i in indexes], _wanted(name))
            for_sentiment = sentiment_model.vectorize_many([h[0] for h in hashed])
            for_category = category_model.vectorize_many([h[1] for h in hashed])
            scored = _transformer_scores([prepared[i] for i in indexes])
            for j, i in enumerate(indexes):
                results[i] = _finish(prepared[i], for_sentiment[j], for_category[j], scored[j])
    return [r for r in results if r is not None]


@quick_init
@dataclass(frozen=True, slots=True)
class _Prepared:
    """One item up to the models: its text in every form the later stages read."""

    raw: str
    reach: Reach
    language: Language
    norm: Normalized
    highlight_in: str
    sentiment_model: str


def _prepare(text: object, meta: Mapping[str, object] | None) -> _Prepared:
    raw = as_text(text)
    reach = reach_from_meta(meta)
    head = raw[:MODEL_CHARS]
    language: Language = detect(head)
    cleaned = clean_unicode(head)
    simplified = to_simplified(cleaned)
    norm = normalize_simplified(simplified, cleaned)
    # Reasons are highlighted in the raw text: search a same-length folded copy of it.
    # (Only when nothing was dropped and lengths agree are the offsets the same.)
    lowered = simplified.lower()
    aligned = len(cleaned) == len(head) and len(lowered) == len(head)
    highlight_in = lowered if aligned else searchable(head)
    model = sentiment_stage.model_for(language.code)
    return _Prepared(raw, reach, language, norm, highlight_in, model)


# sentiment model name → (its model, the category model, their feature settings): built once,
# rebuilt when the registry hands out other model objects (after `clamor train`).
# (A tuple, the same one for every text: hashing memoises what it derives from it.)
_WANTED: dict[str, tuple[object, object, tuple[tuple[FeatureConfig, int], ...]]] = {}


def _wanted(sentiment_model: str) -> tuple[tuple[FeatureConfig, int], ...]:
    """The feature settings of the sentiment model, then of the category model."""
    sentiment, category = get_model(sentiment_model), get_model(CATEGORY)
    known = _WANTED.get(sentiment_model)
    if known is None or known[0] is not sentiment or known[1] is not category:
        wanted = ((sentiment.config, sentiment.bits), (category.config, category.bits))
        known = _WANTED[sentiment_model] = (sentiment, category, wanted)
    return known[2]


def _transformer_scores(items: Sequence[_Prepared]) -> list[dict[str, float] | None]:
    """The configured transformer's probabilities for the items it reads, in one batched call
    (None for the others, and for all when no transformer is configured)."""
    reads = [transformer_for(item.language.code) for item in items]
    readable = [i for i, model in enumerate(reads) if model is not None]
    scored: list[dict[str, float] | None] = [None] * len(items)
    if readable:
        model = reads[readable[0]]
        assert model is not None  # one transformer serves every language it reads
        found = model.probabilities_many([items[i].norm.text for i in readable])
        for i, probabilities in zip(readable, found, strict=True):
            scored[i] = probabilities
    return scored


def _finish(
    item: _Prepared,
    for_sentiment: Hashed | Vector,
    for_category: Hashed | Vector,
    scored: dict[str, float] | None = None,
) -> Analysis:
    norm, highlight_in, language = item.norm, item.highlight_in, item.language
    emotes = read_emotes(norm.emoticons, norm.emoji) if norm.emoticons or norm.emoji else NO_EMOTES
    sentiment = sentiment_stage.classify(
        norm.text, language.code, highlight_in, for_sentiment, scored, emotes
    )
    category = category_stage.classify(norm.text, highlight_in, for_category)
    pii = tuple(find_pii(item.raw))
    severity = score_severity(highlight_in, sentiment.p_negative, category.scores, item.reach)
    return Analysis(
        language=language.code,
        mixed_script=language.mixed,
        normalized=norm,
        sentiment=sentiment,
        category=category,
        pii=pii,
        severity=severity,
        length=len(item.raw),
        truncated=len(item.raw) > MODEL_CHARS,
        model_version=model_versions(),
        signals=_signals(norm),
    )
