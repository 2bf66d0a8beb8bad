"""Hashed n-gram features, computed with whole-array numpy operations.

Why hashing and not a vocabulary: a Python dict of ~900k n-gram strings costs a cache miss per
lookup, and a Chinese review has ~550 n-grams — that alone capped the pipeline at a few hundred
texts per second. Here the text becomes an array of code points, every n-gram's hash is a few
vectorised multiply/xor steps over shifted copies of that array, and a weight lookup is one
numpy gather from a dense table of 2^bits buckets.

Stable across processes and machines (no Python `hash()`): code points are mixed with fixed
64-bit odd constants, words with CRC-32. Each feature also keeps where it came from (kind and
start), so that the few n-grams behind a decision can be shown and highlighted.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

import numpy as np

from clamor.analysis.features import _CUE_RES, _WORD_RE, FeatureConfig

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_K = [
    np.uint64(k)
    for k in (
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
    )
]
_SHIFT_A = np.uint64(29)
_SHIFT_B = np.uint64(32)
GAP1, GAP2, WORD, BIGRAM, CUE = 11, 12, 21, 22, 31


@dataclass(frozen=True, slots=True)
class Hashed:
    """The features of one text: bucket ids, laid out in segments — one per kind (n for a
    character n-gram of length n, GAP1/GAP2, WORD, BIGRAM, CUE) — so that where a feature came
    from is known without per-feature bookkeeping on the hot path."""

    buckets: np.ndarray  # int64
    segments: tuple[tuple[int, int], ...]  # (kind, offset of the segment's first feature)
    words: tuple[str, ...] = ()
    cue_numbers: tuple[int, ...] = ()

    def describe(self, text: str, index: int) -> str:
        """The feature string behind feature number `index` (for reasons)."""
        kind, offset = self.segments[0]
        for candidate, start in self.segments:
            if start > index:
                break
            kind, offset = candidate, start
        position = index - offset
        if kind <= 10:
            return text[position : position + kind]
        if kind == GAP1:
            return text[position] + "_" + text[position + 2]
        if kind == GAP2:
            return text[position] + "__" + text[position + 3]
        if kind in (WORD, BIGRAM):
            return self.words[position + (0 if kind == WORD else self._word_count)]
        return "L:" + list(_CUE_RES)[self.cue_numbers[position]]

    @property
    def _word_count(self) -> int:
        for kind, start in self.segments:
            if kind == BIGRAM:
                word_start = next(s for k, s in self.segments if k == WORD)
                return start - word_start
        return 0


_EMPTY = np.empty(0, np.int64)


def hash_features(text: str, config: FeatureConfig, bits: int) -> Hashed:
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    size = len(codes)
    states: list[np.ndarray] = []
    salts: list[int] = []
    segments: list[tuple[int, int]] = []
    total = 0

    def add(kind: int, values: np.ndarray) -> None:
        nonlocal total
        states.append(values)
        salts.append(len(values))
        segments.append((kind, total))
        total += len(values)

    with np.errstate(over="ignore"):
        # state[i] = polynomial of codes[i : i + n], extended one character per step.
        state = codes * _K[0]
        for n in range(1, min(config.char_max, size) + 1):
            if n > 1:
                state = (state[: size - n + 1] + codes[n - 1 :]) * _K[n % 4]
            if n >= config.char_min:
                add(n, state)
        if config.gaps:
            for gap, kind in ((2, GAP1), (3, GAP2)):
                if size > gap:
                    add(kind, (codes[:-gap] * _K[0] + codes[gap:]) * _K[gap])
    words: list[str] = []
    cue_numbers: list[int] = []
    if config.words:
        tokens = _WORD_RE.findall(text)
        groups = [(WORD, tokens)]
        if config.word_bigrams:
            groups.append((BIGRAM, [f"{a} {b}" for a, b in itertools.pairwise(tokens)]))
        for kind, items in groups:
            if items:
                crc = [zlib.crc32(item.encode("utf-8")) for item in items]
                add(kind, np.array(crc, np.uint64) * _K[5])
                words.extend(items)
    if config.cues:
        cue_numbers = [i for i, p in enumerate(_CUE_RES.values()) if p.search(text)]
        if cue_numbers:
            add(CUE, np.array(cue_numbers, np.uint64) * _K[5] + np.uint64(CUE))
    if not states:
        return Hashed(_EMPTY, ())
    # One finishing pass over all features: each segment gets its own salt, so that the same
    # state value in two kinds (a word's CRC and a trigram, say) lands in different buckets.
    kinds = np.array([kind for kind, _ in segments], np.uint64)
    salt = np.repeat(kinds * np.uint64(0x100000001B3), salts)
    with np.errstate(over="ignore"):
        x = np.concatenate(states) ^ salt
        x = x ^ (x >> _SHIFT_A)
        x = x * _K[4]
        x = x ^ (x >> _SHIFT_B)
    buckets = (x & np.uint64((1 << bits) - 1)).astype(np.int64)
    return Hashed(buckets, tuple(segments), tuple(words), tuple(cue_numbers))
