"""Reasons a UI can highlight: the n-grams that drove a decision, with spans in the raw text."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from clamor.analysis.features import _CUE_RES
from clamor.analysis.frozen import quick_init
from clamor.analysis.linear import Contribution
from clamor.analysis.normalize import to_simplified


@quick_init
@dataclass(frozen=True, slots=True)
class Evidence:
    text: str  # the n-gram as the model saw it (normalised)
    weight: float  # how much it pushed toward the decision
    spans: tuple[tuple[int, int], ...]  # where it occurs in the raw text (start, end)

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "weight": round(self.weight, 4),
            "spans": [list(s) for s in self.spans],
        }


def searchable(raw: str) -> str:
    """A copy of `raw` with the same length, in the models' alphabet (half-width, simplified,
    lower case), so that offsets found in it are offsets in `raw`."""
    if raw.isascii():
        return raw.lower()
    text = unicodedata.normalize("NFKC", raw).lower()
    if len(text) != len(raw):
        # Some character expands or merges under NFKC (e.g. "㈱"): fold one by one instead.
        chars = []
        for ch in raw:
            folded = unicodedata.normalize("NFKC", ch).lower()
            chars.append(folded if len(folded) == 1 else ch)
        text = "".join(chars)
    simplified = to_simplified(text)
    return simplified if len(simplified) == len(text) else text


def find_spans(haystack: str, needle: str, limit: int = 3) -> tuple[tuple[int, int], ...]:
    needle = needle.strip()
    if not needle or "⟨" in needle:
        return ()
    spans: list[tuple[int, int]] = []
    start = haystack.find(needle)
    while start != -1 and len(spans) < limit:
        spans.append((start, start + len(needle)))
        start = haystack.find(needle, start + len(needle))
    return tuple(spans)


_GAPPED_RE = re.compile(r"^(.)(_{1,2})(.)$", re.S)


def pattern_spans(
    haystack: str, pattern: re.Pattern[str], limit: int = 3
) -> tuple[tuple[int, int], ...]:
    return tuple(m.span() for _, m in zip(range(limit), pattern.finditer(haystack), strict=False))


def spans_of(haystack: str, feature: str) -> tuple[tuple[int, int], ...]:
    """Where a feature occurs: a plain n-gram or word literally; a gapped pair ("不_好") as the
    window it spans; a cue group ("L:privacy") where its pattern matches."""
    if feature.startswith("L:"):
        cue = _CUE_RES.get(feature[2:])
        return pattern_spans(haystack, cue) if cue else ()
    window = _gapped_window(feature) if "_" in feature else None
    if window is not None:
        return pattern_spans(haystack, window)
    return find_spans(haystack, feature)


@functools.lru_cache(maxsize=8192)
def _gapped_window(feature: str) -> re.Pattern[str] | None:
    """The regex of the window a gapped pair spans, or None for any other feature. Cached: the
    same few thousand pairs come back in text after text, and building the pattern (escape,
    then re's own cache lookup) cost more than the search."""
    gapped = _GAPPED_RE.match(feature)
    if not gapped:
        return None
    first, gap, last = gapped.groups()
    return re.compile(re.escape(first) + "." * len(gap) + re.escape(last), re.S)


def evidence(raw_searchable: str, contributions: list[Contribution]) -> tuple[Evidence, ...]:
    out = []
    for c in contributions:
        label = c.feature[2:] if c.feature[:2] in ("w:", "b:", "L:") else c.feature
        out.append(Evidence(label, c.weight, spans_of(raw_searchable, c.feature)))
    return tuple(out)
