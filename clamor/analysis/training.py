"""Fitting the linear text models (training side; needs scikit-learn, run by `clamor train`).

Every model is tf-idf (sublinear tf, smooth idf, L2 rows — as sklearn's TfidfVectorizer) over
hashed n-gram features (see hashing), buckets seen in fewer than `min_df` texts dropped, and one
or two linear models whose weights are averaged into one weight matrix, then exported to a
`LinearTextModel` that runs with numpy alone. Two kinds of linear model are combined:

- plain logistic regression on tf-idf;
- NB-LR (Wang & Manning 2012): logistic regression on tf-idf scaled by each feature's naive-Bayes
  log-count ratio; the ratio is folded back into the weights, so inference is unchanged.

A temperature is then fitted on a calibration slice that the weights never saw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clamor.analysis.features import FeatureConfig
from clamor.analysis.hashing import hash_features
from clamor.analysis.linear import LinearTextModel
from clamor.analysis.normalize import model_text

SEED = 0
CALIBRATION_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class FitSpec:
    config: FeatureConfig
    nblr_c: float | None = 4.0  # None: no NB-LR member
    lr_c: float | None = None  # None: no plain LR member
    balanced: bool = False
    min_df: int = 2
    bits: int = 20


def count_matrix(texts: Sequence[str], config: FeatureConfig, bits: int):  # type: ignore[no-untyped-def]
    """CSR matrix of feature counts per hash bucket, one row per (normalised) text."""
    from scipy import sparse

    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for text in texts:
        ids, counts = np.unique(hash_features(text, config, bits).buckets, return_counts=True)
        indices.append(ids)
        data.append(counts)
        indptr.append(indptr[-1] + len(ids))
    return sparse.csr_matrix(
        (
            np.concatenate(data).astype(np.float32) if data else np.empty(0, np.float32),
            np.concatenate(indices) if indices else np.empty(0, np.int64),
            np.array(indptr),
        ),
        shape=(len(texts), 1 << bits),
    )


def fit_idf(counts, min_df: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Smooth idf per bucket (as sklearn), 0 for buckets seen in fewer than `min_df` rows."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0
    idf[df < min_df] = 0.0
    return idf.astype(np.float32)


def tfidf(counts, idf: np.ndarray):  # type: ignore[no-untyped-def]
    """Sublinear tf × idf, rows L2-normalised — the same arithmetic as LinearTextModel."""
    from sklearn.preprocessing import normalize

    x = counts.copy()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    x.eliminate_zeros()
    return normalize(x)


def _nb_ratio(x_bin, positive: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Log-count ratio of each feature between the positive rows and the rest (add-one)."""
    p = np.asarray(x_bin[positive].sum(axis=0)).ravel() + 1.0
    q = np.asarray(x_bin[~positive].sum(axis=0)).ravel() + 1.0
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def _logreg(c: float, balanced: bool, binary: bool = True):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=c,
        max_iter=3000,
        # liblinear is the faster solver for two classes on sparse text; lbfgs does multinomial.
        solver="liblinear" if binary else "lbfgs",
        class_weight="balanced" if balanced else None,
        random_state=SEED,
    )


def _fit_nblr(x, y: np.ndarray, classes: list[str], spec: FitSpec, weight):  # type: ignore[no-untyped-def]
    """NB-LR weights (n_features, k) and intercepts (k,): one-vs-rest for more than 2 classes."""
    from scipy import sparse

    x_bin = (x > 0).astype(np.float32)
    targets = [classes[1]] if len(classes) == 2 else classes
    columns, intercepts = [], []
    for target in targets:
        positive = y == target
        ratio = _nb_ratio(x_bin, positive)
        model = _logreg(spec.nblr_c or 1.0, spec.balanced)
        model.fit(x @ sparse.diags(ratio), positive.astype(int), sample_weight=weight)
        columns.append(model.coef_.ravel() * ratio)
        intercepts.append(model.intercept_[0])
    return np.stack(columns, axis=1), np.array(intercepts)


def _fit_lr(x, y: np.ndarray, classes: list[str], spec: FitSpec, weight):  # type: ignore[no-untyped-def]
    model = _logreg(spec.lr_c or 1.0, spec.balanced, binary=len(classes) == 2)
    model.fit(x, y, sample_weight=weight)
    order = [list(model.classes_).index(c) for c in classes] if len(classes) > 2 else None
    coef = model.coef_.T if order is None else model.coef_.T[:, order]
    intercept = model.intercept_ if order is None else model.intercept_[order]
    return coef, intercept


def _softmax_nll(logits: np.ndarray, y_idx: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    if z.shape[1] == 1:
        z = np.concatenate([np.zeros_like(z), z], axis=1)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y_idx)), y_idx].mean())


def fit_temperature(logits: np.ndarray, y_idx: np.ndarray) -> float:
    """The temperature that minimises negative log-likelihood on held-back rows (grid search:
    one parameter, no need for an optimiser)."""
    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 61))
    losses = [_softmax_nll(logits, y_idx, t) for t in grid]
    return float(grid[int(np.argmin(losses))])


def _members(x, y: np.ndarray, classes: list[str], spec: FitSpec, weight):  # type: ignore[no-untyped-def]
    """Fit each linear model of the spec and average them into one weight matrix. Each member's
    logits are first divided by their spread on (a sample of) the training rows, so that a
    member with larger weights does not outvote the other.

    The models are fitted on the columns (hash buckets) that occur in `x` only: that is faster,
    and it makes NB-LR's add-one smoothing count the buckets the data use, not the empty rest of
    the 2^bits table (which flattened the one-vs-rest ratios of the minority classes)."""
    used = np.flatnonzero(x.getnnz(axis=0))
    xs = x[:, used]
    fitted = []
    if spec.nblr_c is not None:
        fitted.append(_fit_nblr(xs, y, classes, spec, weight))
    if spec.lr_c is not None:
        fitted.append(_fit_lr(xs, y, classes, spec, weight))
    sample = xs[: min(xs.shape[0], 5000)]
    coefs, intercepts = [], []
    for coef, intercept in fitted:
        spread = float(np.std(np.asarray(sample @ coef) + intercept)) if len(fitted) > 1 else 1.0
        coefs.append(coef / spread)
        intercepts.append(intercept / spread)
    coef = np.zeros((x.shape[1], coefs[0].shape[1]), np.float32)
    coef[used] = np.mean(coefs, axis=0)
    return coef, np.mean(intercepts, axis=0).astype(np.float32)


def fit_model(
    texts: Sequence[str],
    labels: Sequence[str],
    classes: list[str],
    spec: FitSpec,
    name: str,
    weights: Sequence[float] | None = None,
) -> LinearTextModel:
    """Fit on raw texts (normalised here) and return the exported model. The temperature is
    fitted on a 5 % slice held back from a first fit; the weights are then refitted on all rows."""
    from sklearn.model_selection import train_test_split

    normalised = [model_text(t) for t in texts]
    y = np.array(labels)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    fit_idx, cal_idx = train_test_split(
        np.arange(len(y)), test_size=CALIBRATION_SHARE, stratify=y, random_state=SEED
    )
    counts = count_matrix(normalised, spec.config, spec.bits)
    idf = fit_idf(counts, spec.min_df)
    x_all = tfidf(counts, idf)
    coef, intercept = _members(x_all[fit_idx], y[fit_idx], classes, spec, w[fit_idx])
    logits = np.asarray(x_all[cal_idx] @ coef) + intercept
    y_cal = np.array([classes.index(v) for v in y[cal_idx]])
    temperature = fit_temperature(logits, y_cal)
    coef, intercept = _members(x_all, y, classes, spec, w)
    coef[idf == 0] = 0.0
    digest = hashlib.sha256(coef.astype(np.float16).tobytes()).hexdigest()[:10]
    return LinearTextModel(
        idf=idf,
        coef=coef,
        intercept=intercept,
        classes=classes,
        config=spec.config,
        bits=spec.bits,
        temperature=temperature,
        version=f"{name}-{digest}",
    )
