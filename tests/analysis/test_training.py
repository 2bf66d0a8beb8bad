"""Fitting details of `clamor.analysis.training` that the accuracy figures depend on."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from clamor.analysis.features import FeatureConfig
from clamor.analysis.training import FitSpec, _members

CLASSES = ["negative", "neutral", "positive"]


def _toy() -> tuple[sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.array(CLASSES * 20)
    dense = rng.random((60, 12)) * (rng.random((60, 12)) < 0.4)
    for i, label in enumerate(y):  # one telling column per class
        dense[i, CLASSES.index(label)] += 1.0
    return sparse.csr_matrix(dense.astype(np.float32)), y


def test_members_ignore_buckets_the_data_never_use() -> None:
    """The 2^bits table is mostly empty: the fit (NB-LR add-one smoothing included) must not
    depend on how many empty buckets surround the used ones."""
    x, y = _toy()
    spec = FitSpec(FeatureConfig(), nblr_c=4.0, lr_c=2.0, balanced=True)
    weight = np.ones(len(y))
    small, small_b = _members(x, y, CLASSES, spec, weight)
    padded = sparse.hstack([x, sparse.csr_matrix((60, 50_000), dtype=np.float32)]).tocsr()
    order = np.r_[np.arange(12, 50_012), np.arange(12)]  # used columns last
    wide, wide_b = _members(padded[:, order].tocsr(), y, CLASSES, spec, weight)
    assert wide.shape == (50_012, 3)
    assert not wide[:50_000].any()
    np.testing.assert_allclose(wide[50_000:], small, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(wide_b, small_b, rtol=1e-4, atol=1e-5)
