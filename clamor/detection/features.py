"""What detection needs from an item's text, computed once and outside the detector's lock.

The detector's state (near-duplicate index, topics, bursts, alerts) is owned by one worker at a
time, so everything that depends on the text alone — the near-duplicate key, the escalation
flag, the topic terms — is computed in the parallel analysis stage, stored with the item and
handed to the detector. The terms are kept as an ordered list of pairs: the detector's partial
similarity sums are accumulated in that order, and a JSON object would not keep it everywhere
(PostgreSQL JSONB sorts keys), so a journal replay would not be bit-for-bit the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from clamor.analysis.dedup import DuplicateKey, duplicate_key
from clamor.detection.alerts import ESCALATION_TERMS, escalation_terms
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


# Every ASCII escalation term (a prefix term without its `*`). The watch-query matcher finds a
# term only inside one run of letters and digits of the lower-cased text, so an ASCII text whose
# lower-cased form contains none of these has no escalation word — and needs no normalisation.
_ASCII_ESCALATION_RE = re.compile(
    "|".join(re.escape(term.rstrip("*")) for term in ESCALATION_TERMS if term.isascii())
)


# The escalation words as watch queries (one per word), for compiling together with the
# configured watch queries: one normalisation and one scan of a text find both. Their ids start
# with `ESCALATION_PREFIX`, which no configured query's id (a number) does.
ESCALATION_PREFIX = "~esc"
ESCALATION_QUERIES = {f"{ESCALATION_PREFIX}{n:03d}": t for n, t in enumerate(ESCALATION_TERMS)}


def has_escalation(text: str) -> bool:
    """Whether `text` has an escalation word (`bool(escalation_terms(text))`, faster)."""
    if text.isascii() and not _ASCII_ESCALATION_RE.search(text.lower()):
        return False
    return bool(escalation_terms(text))


def compute_features(text: str, escalation: bool | None = None) -> DetectionFeatures:
    """The features of `text`; `escalation`, when given, was found already (by a scan with
    `ESCALATION_QUERIES` among the watch queries)."""
    return DetectionFeatures(
        duplicate_key(text),
        has_escalation(text) if escalation is None else escalation,
        tuple(text_features(text).items()),
    )
