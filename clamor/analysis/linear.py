"""A linear text classifier over hashed n-gram features, run with plain numpy.

The model file (`.npz`) holds, for the hash buckets the training data used, the idf and one
weight per class (float16), plus intercepts, classes, feature settings and a temperature. Loaded,
they become dense tables of 2^bits rows. Scoring one text: hashed features (see hashing), counts
per bucket, sublinear tf × idf, L2-normalised, dot the weights, softmax (sigmoid for two
classes) of logits divided by the temperature — what `training` computed with scipy, without
sklearn's ~1 ms per-call overhead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clamor.analysis.features import FeatureConfig
from clamor.analysis.hashing import Hashed, hash_features


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    weight: float  # how much it pushed toward the class it was computed for


@dataclass(frozen=True, slots=True)
class Vector:
    """One text as the model sees it."""

    hashed: Hashed
    ids: np.ndarray  # distinct buckets with a weight
    values: np.ndarray  # their L2-normalised tf-idf
    first: np.ndarray  # for each id, the index of one feature in `hashed` that hit it


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
        self.idf = idf.astype(np.float32)  # (2^bits,); 0 for buckets the model does not use
        self.coef = coef.astype(np.float32)  # (2^bits, n_classes); binary: one column
        self.intercept = intercept.astype(np.float32)
        self.classes = classes
        self.config = config
        self.bits = bits
        self.temperature = float(temperature)
        self.version = version

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
            coef = np.zeros((1 << bits, data["coef"].shape[1]), np.float32)
            coef[used] = data["coef"]
            return cls(
                idf=idf,
                coef=coef,
                intercept=data["intercept"],
                classes=[str(c) for c in data["classes"]],
                config=FeatureConfig.from_list([int(v) for v in data["config"]]),
                bits=bits,
                temperature=float(data["temperature"][0]),
                version=str(data["version"][0]),
            )

    # ---- inference ---------------------------------------------------------------------
    def vectorize(self, text: str) -> Vector:
        hashed = hash_features(text, self.config, self.bits)
        buckets = hashed.buckets
        known = np.flatnonzero(self.idf[buckets] > 0)
        if known.size == 0:
            empty = np.empty(0, np.int64)
            return Vector(hashed, empty, np.empty(0, np.float32), empty)
        ids, first, counts = np.unique(buckets[known], return_index=True, return_counts=True)
        values = (1.0 + np.log(counts.astype(np.float32))) * self.idf[ids]
        norm = math.sqrt(float(values @ values))
        return Vector(hashed, ids, values / norm, known[first])

    def decision(self, vector: Vector) -> np.ndarray:
        return vector.values @ self.coef[vector.ids] + self.intercept

    def probabilities(self, decision: np.ndarray) -> np.ndarray:
        z = decision / self.temperature
        if len(self.classes) == 2:
            p1 = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, float(z[0])))))
            return np.array([1.0 - p1, p1])
        z = z - z.max()
        e = np.exp(z)
        return e / e.sum()

    def predict(self, text: str) -> np.ndarray:
        """Class probabilities, in the order of `classes`."""
        return self.probabilities(self.decision(self.vectorize(text)))

    def contributions(
        self, text: str, vector: Vector, class_index: int, top: int = 5
    ) -> list[Contribution]:
        """The features of `text` that pushed most toward `class_index`."""
        if len(vector.ids) == 0:
            return []
        weights = self.coef[vector.ids]
        if weights.shape[1] == 1:
            push = vector.values * weights[:, 0] * (1.0 if class_index == 1 else -1.0)
        else:
            push = vector.values * (weights[:, class_index] - weights.mean(axis=1))
        # Only the strongest few matter: partition instead of sorting every feature.
        k = min(len(push), top * 4)
        best = np.argpartition(-push, k - 1)[:k] if k < len(push) else np.arange(len(push))
        chosen: list[Contribution] = []
        for j in best[np.argsort(-push[best])]:
            if push[j] <= 0 or len(chosen) >= top:
                break
            feature = vector.hashed.describe(text, int(vector.first[j]))
            if feature.strip() and not any(feature in c.feature for c in chosen):
                chosen.append(Contribution(feature, float(push[j])))
        return chosen
