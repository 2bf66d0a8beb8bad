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

import contextlib
import dataclasses
import functools
import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clamor.analysis.features import _CUE_RES, _WORD_RE, FeatureConfig
from clamor.analysis.frozen import quick_init
from clamor.analysis.prefilter import AlternativesGate


def _u64(value: int) -> np.ndarray:
    # A 0-d array, not np.uint64(value): numpy 2 dispatches an operation with a 0-d array
    # operand about twice as fast as one with a numpy scalar, and this module does ~30 such
    # operations per text. Same dtype, so the same numbers.
    return np.array(value, np.uint64)


_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_K = [
    _u64(k)
    for k in (
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
    )
]
_SHIFT_A = _u64(29)
_SHIFT_B = _u64(32)
GAP1, GAP2, WORD, BIGRAM, CUE = 11, 12, 21, 22, 31
_KIND_SALT = _u64(0x100000001B3)
_CUE_KIND = _u64(CUE)


@quick_init
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
# uint64 *array* arithmetic wraps around silently (numpy warns only for scalar operands, and
# every operation below has an array operand), so no np.errstate — it costs ~5 µs per use.
_WRAPAROUND = contextlib.nullcontext()
# The cue regexes, run only over the wordings whose letters occur in the text (see prefilter):
# same answers, a fraction of the ~60 µs that four long alternations cost per text.
_CUE_GATE = AlternativesGate(
    [(name, p.pattern) for name, p in _CUE_RES.items()],
    next(iter(_CUE_RES.values())).flags if _CUE_RES else 0,
)
_CUE_GATE_EXACT = len({p.flags for p in _CUE_RES.values()}) <= 1
# Cue number n's value before the finishing pass, n * K5 + CUE in uint64 arithmetic (as
# hash_batch computes it with numpy), as Python ints.
_CUE_VALUES = [(n * int(_K[5]) + CUE) % (1 << 64) for n in range(len(_CUE_RES))]


def _cue_numbers(text: str) -> list[int]:
    if not _CUE_GATE_EXACT:  # cue patterns compiled with different flags: no shortcut
        return [i for i, p in enumerate(_CUE_RES.values()) if p.search(text)]
    return [i for i, hit in enumerate(_CUE_GATE.search_each(text)) if hit]


def hash_features(text: str, config: FeatureConfig, bits: int) -> Hashed:
    return _select(_mix(text, config), config, bits)


def hash_features_many(text: str, wanted: Sequence[tuple[FeatureConfig, int]]) -> list[Hashed]:
    """`[hash_features(text, config, bits) for config, bits in wanted]`, with the features that
    several configs share (the sentiment and category models both read character 1–3-grams and
    words) hashed once: a feature's 64-bit hash depends only on its kind and content, and the
    bucket is its low `bits` bits."""
    union = _union_of(wanted)
    if union is None:
        return [hash_features(text, config, bits) for config, bits in wanted]
    mixed = _mix(text, union)
    return [_select(mixed, config, bits) for config, bits in wanted]


@quick_init
@dataclass(frozen=True, slots=True)
class _Mixed:
    """All features of one config before the bucket mask: `x` holds 64-bit hashes in segments,
    one per kind in `kinds`, segment i being x[bounds[i]:bounds[i + 1]], in the order
    hash_features lays them out."""

    x: np.ndarray  # uint64
    kinds: tuple[int, ...]
    bounds: tuple[int, ...]
    tokens: tuple[str, ...]
    bigrams: tuple[str, ...]
    cue_numbers: tuple[int, ...]


def wants(config: FeatureConfig, kind: int) -> bool:
    """Whether a model with `config` reads features of `kind` (a new kind must be added here)."""
    if kind <= 10:
        return config.char_min <= kind <= config.char_max
    if kind in (GAP1, GAP2):
        return config.gaps
    if kind == WORD:
        return config.words
    if kind == BIGRAM:
        return config.words and config.word_bigrams
    if kind == CUE:
        return config.cues
    raise ValueError(f"unknown feature kind {kind}")


# id of a `wanted` tuple → (it, the union of its configs). A caller that passes the same tuple
# for every text (the pipeline does) then skips hashing the configs (~1.5 µs). Only tuples: a
# list could be changed in place under the same id. The entry holds the tuple, so its id cannot
# be reused by another object while the entry is here.
_UNIONS: dict[int, tuple[Sequence[tuple[FeatureConfig, int]], FeatureConfig | None]] = {}


def _union_of(wanted: Sequence[tuple[FeatureConfig, int]]) -> FeatureConfig | None:
    known = _UNIONS.get(id(wanted))
    if known is not None and known[0] is wanted:
        return known[1]
    union = _union(tuple(config for config, _ in wanted))
    if type(wanted) is tuple:
        if len(_UNIONS) >= _LAYOUT_LIMIT:
            _UNIONS.clear()
        _UNIONS[id(wanted)] = (wanted, union)
    return union


@functools.lru_cache(maxsize=64)
def _union(configs: tuple[FeatureConfig, ...]) -> FeatureConfig | None:
    """The config that reads every feature any of `configs` reads (None: no such config)."""
    values = {}
    for f in dataclasses.fields(FeatureConfig):
        got = [getattr(c, f.name) for c in configs]
        if f.name == "char_min":
            values[f.name] = min(got)
        elif f.name == "char_max":
            values[f.name] = max(got)
        elif all(isinstance(v, bool) for v in got):
            values[f.name] = any(got)
        elif len(set(got)) == 1:
            values[f.name] = got[0]
        else:
            return None  # a setting that cannot be merged: hash each config on its own
    return FeatureConfig(**values)


# (config, kinds of a text's segments) → which segments the config reads, and the runs of
# neighbouring ones among them (each cut out as one slice). A stream of texts yields few
# distinct layouts; bounded all the same.
_LAYOUTS: dict[
    tuple[FeatureConfig, tuple[int, ...]], tuple[tuple[int, ...], tuple[tuple[int, int], ...]]
] = {}
_LAYOUT_LIMIT = 1024
_MASKS: dict[int, np.ndarray] = {}


def _select_layout(
    config: FeatureConfig, kinds: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
    key = (config, kinds)
    layout = _LAYOUTS.get(key)
    if layout is None:
        chosen = tuple(i for i, kind in enumerate(kinds) if wants(config, kind))
        runs: list[tuple[int, int]] = []
        for i in chosen:
            if runs and runs[-1][1] == i:
                runs[-1] = (runs[-1][0], i + 1)
            else:
                runs.append((i, i + 1))
        layout = (chosen, tuple(runs))
        if len(_LAYOUTS) >= _LAYOUT_LIMIT:
            _LAYOUTS.clear()
        _LAYOUTS[key] = layout
    return layout


def _select(mixed: _Mixed, config: FeatureConfig, bits: int) -> Hashed:
    """The Hashed of `config` out of features hashed for a config that reads at least as much."""
    mask = _MASKS.get(bits)
    if mask is None:
        mask = _MASKS.setdefault(bits, _u64((1 << bits) - 1))
    chosen, runs = _select_layout(config, mixed.kinds)
    if not chosen:
        return Hashed(_EMPTY, ())
    bounds, kinds = mixed.bounds, mixed.kinds
    if len(runs) == 1:
        first, last = runs[0]
        x = mixed.x if last - first == len(kinds) else mixed.x[bounds[first] : bounds[last]]
        x = x & mask
    else:
        # Neighbouring segments come out of the union as one slice.
        x = np.concatenate([mixed.x[bounds[a] : bounds[b]] for a, b in runs]) & mask
    segments, offset = [], 0
    for i in chosen:
        segments.append((kinds[i], offset))
        offset += bounds[i + 1] - bounds[i]
    words = mixed.tokens if config.words else ()
    if config.words and config.word_bigrams:
        words = words + mixed.bigrams
    cues = mixed.cue_numbers if config.cues else ()
    # All below 2^bits: viewed as int64 they are the same numbers, without a copy.
    return Hashed(x.view(np.int64), tuple(segments), words, cues)


# Raw CRC-32 of the words seen lately: the same few thousand words come back in post after post,
# and a lookup costs less than encoding and checksumming the word again. Bounded.
_CRC_CACHE: dict[str, int] = {}
_CRC_CACHE_LIMIT = 1 << 15


def word_crcs(words: Sequence[str]) -> list[int]:
    """`[zlib.crc32(w.encode()) for w in words]`, mostly from the cache."""
    crcs = list(map(_CRC_CACHE.get, words))
    if None in crcs:
        if len(_CRC_CACHE) >= _CRC_CACHE_LIMIT:
            _CRC_CACHE.clear()
        for i, crc in enumerate(crcs):
            if crc is None:
                crcs[i] = _CRC_CACHE[words[i]] = zlib.crc32(words[i].encode())
    return crcs  # type: ignore[return-value]


# kinds of a text's segments → each kind's salt, for np.repeat (see _mix).
_SALTS: dict[tuple[int, ...], np.ndarray] = {}


def _salts(kinds: tuple[int, ...]) -> np.ndarray:
    salts = _SALTS.get(kinds)
    if salts is None:
        with _WRAPAROUND:
            salts = np.array(kinds, np.uint64) * _KIND_SALT
        if len(_SALTS) >= _LAYOUT_LIMIT:
            _SALTS.clear()
        _SALTS[kinds] = salts
    return salts


def _mix(text: str, config: FeatureConfig) -> _Mixed:
    # A new feature kind goes in three places: here, in hash_batch (the same arithmetic over
    # a whole batch) and in wants(); tests/analysis/test_fast_paths.py checks that they agree.
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    size = len(codes)
    states: list[np.ndarray] = []
    kinds: list[int] = []
    with _WRAPAROUND:
        # state[i] = polynomial of codes[i : i + n], extended one character per step.
        state = codes * _K[0]
        for n in range(1, min(config.char_max, size) + 1):
            if n > 1:
                state = (state[: size - n + 1] + codes[n - 1 :]) * _K[n % 4]
            if n >= config.char_min:
                states.append(state)
                kinds.append(n)
        if config.gaps:
            for gap, kind in ((2, GAP1), (3, GAP2)):
                if size > gap:
                    states.append((codes[:-gap] * _K[0] + codes[gap:]) * _K[gap])
                    kinds.append(kind)
    tokens: list[str] = []
    bigrams: list[str] = []
    cue_numbers: list[int] = []
    lengths = list(map(len, states))
    if config.words:
        tokens = _WORD_RE.findall(text)
        if config.word_bigrams:
            bigrams = list(map(" ".join, itertools.pairwise(tokens)))
        # Words and word pairs in one array: the same arithmetic, half the numpy calls.
        crcs = word_crcs(tokens)
        crcs += map(zlib.crc32, map(str.encode, bigrams))
        if crcs:
            states.append(np.array(crcs, np.uint64) * _K[5])
        for kind, items in ((WORD, tokens), (BIGRAM, bigrams)):
            if items:
                kinds.append(kind)
                lengths.append(len(items))
    if config.cues:
        cue_numbers = _cue_numbers(text)
        if cue_numbers:
            states.append(np.array([_CUE_VALUES[n] for n in cue_numbers], np.uint64))
            kinds.append(CUE)
            lengths.append(len(cue_numbers))
    if not states:
        return _Mixed(_EMPTY.view(np.uint64), (), (0,), (), (), ())
    bounds = [0, *itertools.accumulate(lengths)]
    kind_tuple = tuple(kinds)
    # One finishing pass over all features: each segment gets its own salt, so that the same
    # state value in two kinds (a word's CRC and a trigram, say) lands in different buckets.
    salt = _salts(kind_tuple).repeat(lengths)  # (the method: np.repeat adds a wrapper)
    with _WRAPAROUND:  # in place: one buffer instead of one per step
        x = np.concatenate(states)
        x ^= salt
        x ^= x >> _SHIFT_A
        x *= _K[4]
        x ^= x >> _SHIFT_B
    return _Mixed(x, kind_tuple, tuple(bounds), tuple(tokens), tuple(bigrams), tuple(cue_numbers))


# ---- batches ----------------------------------------------------------------------------
# A text's features cost ~30 numpy calls of ~1 µs each whatever its length; for a batch the same
# arithmetic runs once over all texts joined together. A character n-gram's state only reads
# the n code points it covers, so computed over the joined texts it is the same number for every
# n-gram inside one text (those that straddle two texts are computed and never used). Then one
# gather puts each text's features in the order hash_features gives them.


def hash_batch(
    texts: Sequence[str], wanted: Sequence[tuple[FeatureConfig, int]]
) -> list[list[Hashed]]:
    """`[hash_features_many(text, wanted) for text in texts]`, with whole-batch numpy calls."""
    union = _union(tuple(config for config, _ in wanted))
    if union is None or not texts:
        return [hash_features_many(text, wanted) for text in texts]
    sizes = np.array([len(text) for text in texts], np.int64)
    starts = np.zeros(len(texts), np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), np.uint32).astype(np.uint64)
    total_size = len(codes)
    # kind → (its hashes for the whole batch, each text's first index in them, each text's count)
    by_kind: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    with _WRAPAROUND:
        state = codes * _K[0]
        for n in range(1, min(union.char_max, int(sizes.max(initial=0))) + 1):
            if n > 1:
                state = (state[: total_size - n + 1] + codes[n - 1 :]) * _K[n % 4]
            if n >= union.char_min:
                by_kind[n] = (state, starts, np.maximum(sizes - n + 1, 0))
        if union.gaps:
            for gap, kind in ((2, GAP1), (3, GAP2)):
                if total_size > gap:
                    values = (codes[:-gap] * _K[0] + codes[gap:]) * _K[gap]
                    by_kind[kind] = (values, starts, np.maximum(sizes - gap, 0))
    per_text_tokens: list[tuple[str, ...]] = [()] * len(texts)
    per_text_bigrams: list[tuple[str, ...]] = [()] * len(texts)
    per_text_cues: list[tuple[int, ...]] = [()] * len(texts)
    if union.words:
        per_text_tokens = [tuple(_WORD_RE.findall(text)) for text in texts]
        if union.word_bigrams:
            per_text_bigrams = [
                tuple(map(" ".join, itertools.pairwise(t))) for t in per_text_tokens
            ]
        for kind, groups in ((WORD, per_text_tokens), (BIGRAM, per_text_bigrams)):
            items = list(itertools.chain.from_iterable(groups))
            if items:
                crcs = word_crcs(items) if kind == WORD else map(zlib.crc32, map(str.encode, items))
                crc = np.array(list(crcs), np.uint64)
                by_kind[kind] = (crc * _K[5], *_layout([len(g) for g in groups]))
    if union.cues:
        per_text_cues = [tuple(_cue_numbers(text)) for text in texts]
        numbers = list(itertools.chain.from_iterable(per_text_cues))
        if numbers:
            values = np.array(numbers, np.uint64) * _K[5] + _CUE_KIND
            by_kind[CUE] = (values, *_layout([len(c) for c in per_text_cues]))
    if not by_kind:
        return [[Hashed(_EMPTY, ()) for _ in wanted] for _ in texts]
    # One finishing pass over every kind's hashes, each salted with its kind (as in _mix).
    kinds = list(by_kind)
    lengths = [len(by_kind[kind][0]) for kind in kinds]
    salt = np.repeat(np.array(kinds, np.uint64) * _KIND_SALT, lengths)
    with _WRAPAROUND:
        x = np.concatenate([by_kind[kind][0] for kind in kinds])
        x ^= salt
        x ^= x >> _SHIFT_A
        x *= _K[4]
        x ^= x >> _SHIFT_B
    bases = dict(zip(kinds, np.cumsum([0, *lengths[:-1]]).tolist(), strict=True))
    out: list[list[Hashed]] = [[] for _ in texts]
    for config, bits in wanted:
        chosen = [kind for kind in kinds if wants(config, kind)]
        # (texts × kinds) matrices of where each text's segment of each kind starts, and its size.
        first = np.array([bases[k] + by_kind[k][1] for k in chosen], np.int64).T.reshape(
            len(texts), -1
        )
        count = np.array([by_kind[k][2] for k in chosen], np.int64).T.reshape(len(texts), -1)
        flat_count = count.ravel()
        ends = np.cumsum(flat_count)
        index = np.repeat(first.ravel() - (ends - flat_count), flat_count) + np.arange(
            int(ends[-1]) if len(ends) else 0
        )
        buckets = (x[index] & _u64((1 << bits) - 1)).view(np.int64)
        text_ends = ends.reshape(len(texts), -1)[:, -1].tolist() if chosen else [0] * len(texts)
        counts = count.tolist()
        begin = 0
        for i, end in enumerate(text_ends):
            segments, offset = [], 0
            for kind, size in zip(chosen, counts[i], strict=True):
                if size:
                    segments.append((kind, offset))
                    offset += size
            words: tuple[str, ...] = per_text_tokens[i] if config.words else ()
            if config.words and config.word_bigrams:
                words = words + per_text_bigrams[i]
            cues = per_text_cues[i] if config.cues else ()
            if segments:
                out[i].append(Hashed(buckets[begin:end], tuple(segments), words, cues))
            else:
                out[i].append(Hashed(_EMPTY, ()))
            begin = end
    return out


def _layout(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each text's first index in a batch array where text i has counts[i] entries, and counts."""
    sizes = np.array(counts, np.int64)
    return np.cumsum(sizes) - sizes, sizes
