"""A linear text classifier over hashed n-gram features, run with plain numpy.

The model file (`.npz`) holds, for the hash buckets the training data used, the idf and one
weight per class (float16), plus intercepts, classes, feature settings and a temperature. Loaded,
they become dense tables of 2^bits rows. Scoring one text: hashed features (see hashing), counts
per bucket, sublinear tf × idf, L2-normalised, dot the weights, softmax (sigmoid for two
classes) of logits divided by the temperature — what `training` computed with scipy, without
sklearn's ~1 ms per-call overhead.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clamor.analysis.features import FeatureConfig
from clamor.analysis.frozen import quick_init
from clamor.analysis.hashing import Hashed, hash_features


@quick_init
@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    weight: float  # how much it pushed toward the class it was computed for


@quick_init
@dataclass(frozen=True, slots=True)
class Vector:
    """One text as the model sees it."""

    hashed: Hashed
    ids: np.ndarray  # distinct buckets with a weight
    values: np.ndarray  # their L2-normalised tf-idf
    first: np.ndarray  # for each id, the index of one feature in `hashed` that hit it
    # The model's weight rows for `ids`, as `coef[ids]` gives them (contiguous), gathered
    # once for decision and contributions; None when built by hand.
    weights: np.ndarray | None = None
    # Each row's mean weight over the classes (models with two or more weight columns), as
    # contributions() would compute it from `weights`; None: compute it there.
    mean: np.ndarray | None = None


# Constants as 0-d arrays of the dtype a Python number would be cast to here: the same results,
# and numpy 2 dispatches a 0-d array operand faster than a Python or numpy scalar (~0.8 µs
# against ~1.5 µs per operation, and a text takes dozens).
_I64_32 = np.array(32, np.int64)
_I64_LOW32 = np.array(0xFFFFFFFF, np.int64)
_F32_ZERO = np.array(0.0, np.float32)
_F32_ONE = np.array(1.0, np.float32)
_F32_MINUS_ONE = np.array(-1.0, np.float32)
# Feature positions for the sort keys of unique_first_counts: a slice of this costs less than an
# np.arange per call (a text has up to a few thousand features; longer ones get their own).
_POSITIONS = np.arange(1 << 14, dtype=np.int64)
_POSITIONS.flags.writeable = False
_POSITIONS_U32 = np.arange(1 << 14, dtype=np.uint32)
_POSITIONS_U32.flags.writeable = False
_U32_SHIFTS = [np.array(n, np.uint32) for n in range(33)]
_U32_LOW = [np.array((1 << n) - 1, np.uint32) for n in range(33)]


def unique_first_counts(
    values: np.ndarray, below: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(values, return_index=True, return_counts=True)` for int64 `values` in
    [0, 2^31), faster: np.unique needs a *stable* argsort (~50 µs on 500 features) to report
    each value's earliest index; sorting `value << 32 | index` with the plain (SIMD) sort gives
    the same order — ties broken by index — in ~5 µs. `below`: a bound the caller knows the
    values are under (hash buckets are below 2^bits), which saves checking."""
    known_small = below is not None and below <= 1 << 31
    if (
        len(values)
        and not known_small
        and not 0 <= int(values.min()) <= int(values.max()) < 1 << 31
    ):
        return np.unique(values, return_index=True, return_counts=True)  # outside the contract
    size = len(values)
    if known_small and size <= len(_POSITIONS_U32):
        # When bucket and index fit in 32 bits together (a text's few hundred features, buckets
        # below 2^21), sort 32-bit keys: same order, but numpy's SIMD sort handles twice the
        # keys per vector, ~5 µs instead of ~10 on the ~600 features of a tweet.
        low = max(size - 1, 1).bit_length()
        if (below - 1).bit_length() + low <= 32:  # type: ignore[operator]
            return _unique_first_counts_32(values, low)
    positions = _POSITIONS[:size] if size <= len(_POSITIONS) else np.arange(size, dtype=np.int64)
    keys = (values << _I64_32) | positions
    # In place (keys is a fresh array; np.sort would copy it first). The keys are distinct, so
    # any sort gives this one order.
    keys.sort()
    ordered = keys >> _I64_32
    at, lengths = runs(ordered)
    return ordered.take(at), keys.take(at) & _I64_LOW32, lengths


def _unique_first_counts_32(
    values: np.ndarray, low: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """unique_first_counts on keys `value << low | index` in uint32 (the caller checked that
    they fit); ids and first indices come back as int64, as the 64-bit path gives them."""
    shift = _U32_SHIFTS[low]
    keys = (values.astype(np.uint32) << shift) | _POSITIONS_U32[: len(values)]
    keys.sort()
    ordered = keys >> shift
    at, lengths = runs(ordered)
    ids = ordered.take(at).astype(np.int64)
    first = (keys.take(at) & _U32_LOW[low]).astype(np.int64)
    return ids, first, lengths


def runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of equal values in the sorted array `ordered` starts, and its length."""
    # edges[i]: a run starts at i; edges[size] closes the last run, so that the positions of the
    # True entries are the run boundaries and their differences the run lengths.
    size = len(ordered)
    edges = np.empty(size + 1, np.bool_)
    edges[0] = True
    edges[size] = True
    np.not_equal(ordered[1:], ordered[:-1], out=edges[1:size])
    bounds = edges.nonzero()[0]
    at = bounds[:-1]
    return at, bounds[1:] - at


def row_sums(matrix: np.ndarray) -> np.ndarray:
    """`np.add.reduce(matrix, axis=1)` for a C-ordered (k, c) float32 matrix, bit for bit: numpy
    adds the columns one after the other (column 0, then += column 1 …), and so does this — in
    c - 1 whole-column additions instead of a buffered reduction that costs ~10 µs when c is 3
    or 5 (tests/analysis/test_fast_paths.py checks the equality). From 8 columns on numpy sums
    pairwise, so those go to numpy."""
    if matrix.ndim != 2 or not 2 <= matrix.shape[1] < 8:
        return np.add.reduce(matrix, axis=1)
    total = matrix[:, 0] + matrix[:, 1]
    for column in range(2, matrix.shape[1]):
        total += matrix[:, column]
    return total


def mean_weights(weights: np.ndarray) -> np.ndarray:
    """`weights.mean(axis=1)` for a (k, c) float32 matrix, bit for bit, as numpy computes it —
    the float32 row sum (see row_sums) divided by an intp count, which numpy does in float64 and
    rounds back to float32 — without its ~5 µs of Python-side bookkeeping."""
    return (row_sums(weights) / np.array(float(weights.shape[1]))).astype(np.float32)


_MEAN_BLOCK = 1 << 14


def weight_table(coef: np.ndarray) -> np.ndarray:
    """The weights (2^bits, c) as the model keeps them: with two or more columns each row
    carries one more, the mean of its weights, which contributions() subtracts — computed here
    row by row with the arithmetic it used per text (mean_weights), so the same numbers; read
    in the same gather as the weights, it saves a dozen small numpy calls per text for a few
    MB. A binary model (one column) keeps its weights as they are."""
    columns = coef.shape[1]
    if columns < 2:
        return coef
    rows = np.empty((len(coef), columns + 1), np.float32)
    rows[:, :columns] = coef
    # In blocks: whole-table temporaries (a float64 copy of 2^20 sums …) would stay in the
    # process's heap after use, ~15 MB more resident memory for nothing.
    for start in range(0, len(coef), _MEAN_BLOCK):
        block = coef[start : start + _MEAN_BLOCK]
        rows[start : start + len(block), columns] = mean_weights(block)
    return rows


# Batch keys pack (text, bucket, feature index) into one int64: 20 bits for the index (a text's
# features; the pipeline reads at most 5,000 characters), up to 24 for the bucket.
_POSITION_BITS = 20
_BATCH_MAX_BITS = 24


class LinearTextModel:
    """Loaded once per process; read-only afterwards, so safe to share between threads."""

    def __init__(
        self,
        idf: np.ndarray,
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: list[str],
        config: FeatureConfig,
        bits: int,
        temperature: float = 1.0,
        version: str = "",
    ) -> None:
        # C order (as loaded from a file; training may hand a transposed array): row gathers
        # with take() copy whole rows.
        coef = np.array(coef, np.float32, order="C")  # (2^bits, n_classes); binary: 1 column
        self._set_tables(idf, weight_table(coef), coef.shape[1])
        self._set_details(intercept, classes, config, bits, temperature, version)

    def _set_tables(self, idf: np.ndarray, rows: np.ndarray, columns: int) -> None:
        self.idf = np.array(idf, np.float32, order="C")  # (2^bits,); 0: bucket not used
        # The weights, and with two or more columns one more per row (see weight_table).
        self._rows = rows
        self._columns = columns

    def _set_details(
        self,
        intercept: np.ndarray,
        classes: list[str],
        config: FeatureConfig,
        bits: int,
        temperature: float,
        version: str,
    ) -> None:
        self.intercept = intercept.astype(np.float32)
        self.classes = classes
        self.config = config
        self.bits = bits
        self.temperature = float(temperature)
        self.version = version

    @property
    def coef(self) -> np.ndarray:
        """(2^bits, n_classes) float32 weights; binary: one column."""
        extended = self._rows.shape[1] > self._columns
        return self._rows[:, : self._columns] if extended else self._rows

    @property
    def temperature(self) -> float:
        return self._temperature_value

    @temperature.setter
    def temperature(self, value: float) -> None:
        self._temperature_value = float(value)
        # What `decision / temperature` divides by: the float32 the Python float would be
        # cast to, as a 0-d array (see _F32_ONE).
        self._temperature = np.array(self._temperature_value, np.float32)

    @property
    def n_features(self) -> int:
        return int(np.count_nonzero(self.idf))

    # ---- persistence -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        used = np.flatnonzero(self.idf).astype(np.int32)
        np.savez_compressed(
            path,
            buckets=used,
            idf=self.idf[used].astype(np.float16),
            coef=self.coef[used].astype(np.float16),
            intercept=self.intercept,
            classes=np.array(self.classes),
            config=np.array(self.config.to_list()),
            bits=np.array([self.bits]),
            temperature=np.array([self.temperature]),
            version=np.array([self.version]),
        )

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        with np.load(path, allow_pickle=False) as data:
            bits = int(data["bits"][0])
            used = data["buckets"]
            idf = np.zeros(1 << bits, np.float32)
            idf[used] = data["idf"]
            # The weight table straight from the used rows (no dense weight matrix on the way:
            # it would stay in the heap, ~10 MB resident for nothing). An unused row is all
            # zeros, and so is its mean: the table weight_table(dense weights) gives.
            columns = data["coef"].shape[1]
            rows = np.zeros((1 << bits, columns + (columns >= 2)), np.float32)
            rows[used, :columns] = data["coef"]
            if columns >= 2:
                rows[used, columns] = mean_weights(rows[used, :columns])
            model = cls.__new__(cls)
            model._set_tables(idf, rows, columns)
            model._set_details(
                intercept=data["intercept"],
                classes=[str(c) for c in data["classes"]],
                config=FeatureConfig.from_list([int(v) for v in data["config"]]),
                bits=bits,
                temperature=float(data["temperature"][0]),
                version=str(data["version"][0]),
            )
            return model

    # ---- inference ---------------------------------------------------------------------
    def vectorize(self, text: str) -> Vector:
        return self.vectorize_hashed(hash_features(text, self.config, self.bits))

    def vectorize_hashed(self, hashed: Hashed) -> Vector:
        buckets = hashed.buckets
        idf_all = self.idf.take(buckets)
        known = (idf_all > _F32_ZERO).nonzero()[0]
        if known.size == 0:
            empty = np.empty(0, np.int64)
            return Vector(hashed, empty, np.empty(0, np.float32), empty)
        ids, first, counts = unique_first_counts(buckets.take(known), 1 << self.bits)
        first = known.take(first)
        values = (_F32_ONE + np.log(counts.astype(np.float32))) * idf_all.take(first)
        norm = math.sqrt(float(values @ values))
        weights, mean = self._gather(ids)
        return Vector(hashed, ids, values / norm, first, weights, mean)

    def vectorize_many(self, hasheds: Sequence[Hashed]) -> list[Vector]:
        """`[self.vectorize_hashed(h) for h in hasheds]`: one sort for the whole batch instead of
        one per text, on keys (text, bucket, feature index) — the same ids, counts and first
        indices per text. Each text's norm and weights are still computed on its own arrays, so
        every number is what vectorize_hashed gives."""
        sizes = [len(h.buckets) for h in hasheds]
        if not hasheds or max(sizes) >= 1 << _POSITION_BITS or self.bits > _BATCH_MAX_BITS:
            return [self.vectorize_hashed(h) for h in hasheds]
        buckets = np.concatenate([h.buckets for h in hasheds])
        counts_per_text = np.array(sizes, np.int64)
        text_starts = np.cumsum(counts_per_text) - counts_per_text
        rows = np.repeat(np.arange(len(hasheds), dtype=np.int64), counts_per_text)
        positions = np.arange(len(buckets), dtype=np.int64) - np.repeat(
            text_starts, counts_per_text
        )
        known = (self.idf.take(buckets) > 0).nonzero()[0]
        row_of, bucket_of, position_of = rows[known], buckets[known], positions[known]
        low = max(max(sizes) - 1, 1).bit_length()  # bits of a feature index
        if self.bits + low <= 32:
            # Each text's keys `bucket << low | index` sorted on their own, as 32-bit numbers:
            # the texts come in order, so `text << 32 | key` is then in the order one sort of
            # all keys gives — and numpy sorts a few hundred 32-bit keys several times faster
            # per key than one array of a hundred thousand 64-bit ones (~0.8 ms against ~6 ms
            # for 256 tweets).
            part = ((bucket_of << low) | position_of).astype(np.uint32)
            edges = np.searchsorted(row_of, np.arange(len(hasheds) + 1)).tolist()
            for a, b in itertools.pairwise(edges):
                if b - a > 1:
                    part[a:b].sort()
            keys = (row_of << 32) | part
            position_bits, text_shift = low, 32 - low
        else:
            shift = self.bits + _POSITION_BITS
            keys = np.sort((row_of << shift) | (bucket_of << _POSITION_BITS) | position_of)
            position_bits, text_shift = _POSITION_BITS, self.bits
        groups = keys >> position_bits  # text and bucket
        at, lengths = runs(groups)
        ids = groups[at] & ((1 << self.bits) - 1)
        first = keys[at] & ((1 << position_bits) - 1)
        values = (1.0 + np.log(lengths.astype(np.float32))) * self.idf.take(ids)
        weights, means = self._gather(ids)
        bounds = np.searchsorted(groups[at] >> text_shift, np.arange(len(hasheds) + 1)).tolist()
        out = []
        empty = np.empty(0, np.int64)
        for i, hashed in enumerate(hasheds):
            a, b = bounds[i], bounds[i + 1]
            if a == b:
                out.append(Vector(hashed, empty, np.empty(0, np.float32), empty))
                continue
            # Fresh arrays, as vectorize_hashed has: BLAS may sum a misaligned slice in another
            # order, and the last bit of a float would differ.
            mine = values[a:b].copy()
            norm = math.sqrt(float(mine @ mine))
            mean = None if means is None else means[a:b]
            vector = Vector(hashed, ids[a:b], mine / norm, first[a:b], weights[a:b].copy(), mean)
            out.append(vector)
        return out

    def decision(self, vector: Vector) -> np.ndarray:
        return vector.values @ self._weights(vector) + self.intercept

    def _weights(self, vector: Vector) -> np.ndarray:
        return self._weight_rows(vector.ids) if vector.weights is None else vector.weights

    def _weight_rows(self, ids: np.ndarray) -> np.ndarray:
        return self._gather(ids)[0]

    def _gather(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """`coef[ids]` — a fresh contiguous (k, n_classes) array: same numbers, same BLAS call,
        the same decision to the last bit — and, with two or more weight columns, the rows' mean
        weights. take() copies whole rows, ~6× faster than fancy indexing, which walks a 2-D
        index iterator element by element."""
        rows = self._rows.take(ids, axis=0)
        if rows.shape[1] == self._columns:
            return rows, None
        return np.ascontiguousarray(rows[:, : self._columns]), rows[:, self._columns]

    def probabilities(self, decision: np.ndarray) -> np.ndarray:
        z = decision / self._temperature
        if len(self.classes) == 2:
            p1 = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, float(z[0])))))
            return np.array([1.0 - p1, p1])
        # The largest logit, read as a Python float, is exactly one of the values of z: the
        # same numbers as subtracting np.maximum.reduce(z, keepdims=True), without the ~2 µs a
        # keepdims reduction costs on three or five values. Likewise the sum as a scalar
        # divides as the keepdims array would.
        z -= np.array(max(z.tolist()), z.dtype)
        e = np.exp(z)
        return e / np.add.reduce(e)

    def predict(self, text: str) -> np.ndarray:
        """Class probabilities, in the order of `classes`."""
        return self.probabilities(self.decision(self.vectorize(text)))

    def contributions(
        self, text: str, vector: Vector, class_index: int, top: int = 5
    ) -> list[Contribution]:
        """The features of `text` that pushed most toward `class_index`."""
        if len(vector.ids) == 0:
            return []
        weights = self._weights(vector)
        # `pull` is minus the push toward the class, computed as such (a negated product or
        # difference is exact in IEEE arithmetic, so these are the numbers -push would be): the
        # strongest pushes are then the smallest pulls, found without negating arrays.
        if weights.shape[1] == 1:
            pull = (
                vector.values * weights[:, 0] * (_F32_MINUS_ONE if class_index == 1 else _F32_ONE)
            )
        else:
            mean = mean_weights(weights) if vector.mean is None else vector.mean
            pull = vector.values * (mean - weights[:, class_index])
        # Only the strongest few matter: partition instead of sorting every feature. (The array
        # methods that np.argpartition / np.argsort call, minus their wrappers.)
        k = top * 4
        if k < len(pull):
            best = pull.argpartition(k - 1)[:k]
            order = best.take(pull.take(best).argsort())
        else:
            order = pull.argsort()
        # Plain Python numbers for the loop: indexing numpy arrays one element at a time is slow.
        chosen: list[Contribution] = []
        pulls, firsts = pull.take(order).tolist(), vector.first.take(order).tolist()
        # A feature inside one already chosen ("fligh" after "flight") adds nothing: the chosen
        # ones are kept joined by NUL (which normalised text never holds), so that one
        # substring test asks "inside any of them?".
        describe, seen = vector.hashed.describe, ""
        for pulled, first in zip(pulls, firsts, strict=True):
            if pulled >= 0 or len(chosen) >= top:
                break
            feature = describe(text, first)
            if not feature.strip():
                continue
            if "\0" in feature:  # (only for text that was not normalised)
                if any(feature in c.feature for c in chosen):
                    continue
            elif feature in seen:
                continue
            chosen.append(Contribution(feature, -pulled))
            seen += "\0" + feature
        return chosen


def as_vector(model: LinearTextModel, text: str, features: Hashed | Vector | None) -> Vector:
    """`text` as `model` sees it, reusing features or a vector the caller already has."""
    if features is None:
        return model.vectorize(text)
    if isinstance(features, Vector):
        return features
    return model.vectorize_hashed(features)
