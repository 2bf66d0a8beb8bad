"""What detection needs from an item's text, computed once and outside the detector's lock.

The detector's state (near-duplicate index, topics, bursts, alerts) is owned by one worker at a
time, so everything that depends on the text alone — the near-duplicate key, the escalation
flag, the topic terms — is computed in the parallel analysis stage, stored with the item and
handed to the detector. The terms are kept as an ordered list of pairs: the detector's partial
similarity sums are accumulated in that order, and a JSON object would not keep it everywhere
(PostgreSQL JSONB sorts keys), so a journal replay would not be bit-for-bit the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clamor.analysis.dedup import DuplicateKey, duplicate_key
from clamor.detection.alerts import escalation_terms
from clamor.detection.topics import text_features

FEATURES_VERSION = 1


@dataclass(frozen=True, slots=True)
class DetectionFeatures:
    duplicate: DuplicateKey | None  # None: too short for a near-duplicate key
    escalation: bool
    terms: tuple[tuple[str, int], ...]  # topic terms with counts, in extraction order

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": FEATURES_VERSION,
            "dup": [self.duplicate.simhash, self.duplicate.units] if self.duplicate else None,
            "esc": self.escalation,
            "terms": [[term, count] for term, count in self.terms],
        }

    @classmethod
    def from_dict(cls, raw: object) -> DetectionFeatures | None:
        """The stored features, or None when absent or of another version (recompute them)."""
        if not isinstance(raw, dict) or raw.get("v") != FEATURES_VERSION:
            return None
        dup = raw.get("dup")
        return cls(
            DuplicateKey(int(dup[0]), int(dup[1])) if dup else None,
            bool(raw.get("esc")),
            tuple((str(term), int(count)) for term, count in raw.get("terms", ())),
        )


def compute_features(text: str) -> DetectionFeatures:
    return DetectionFeatures(
        duplicate_key(text),
        bool(escalation_terms(text)),
        tuple(text_features(text).items()),
    )
