"""How sure an AUROC or FPR at 95 % TPR is: stratified bootstrap intervals.

Unseen (positive) and trained (negative) test samples are resampled *separately*, with
replacement, so every resample keeps the two group sizes (a stratified bootstrap). The same
seeded resamples are used for every score, so a difference between two scores is paired: its
interval is that of the per-resample differences. Intervals are percentile intervals (2.5 % and
97.5 % of ``n`` resamples, 500 by default).

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> pos, neg = rng.normal(1, 1, 200), rng.normal(0, 1, 300)
>>> draws = stratified_resamples(len(pos), len(neg), 500, seed=0)
>>> low, high = interval(auroc_resampled(pos, neg, draws))
>>> bool(low < 0.76 < high)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Resamples:
    """Indices of ``n`` bootstrap resamples: ``positives`` int[n, n_pos], ``negatives``
    int[n, n_neg] (into the positive and the negative samples)."""

    positives: np.ndarray
    negatives: np.ndarray

    def __len__(self) -> int:
        return len(self.positives)


def stratified_resamples(n_pos: int, n_neg: int, n: int, seed: int = 0) -> Resamples:
    """``n`` seeded resamples that draw ``n_pos`` positives and ``n_neg`` negatives each."""
    rng = np.random.default_rng(seed)
    return Resamples(
        rng.integers(0, max(n_pos, 1), size=(n, n_pos)),
        rng.integers(0, max(n_neg, 1), size=(n, n_neg)),
    )


def auroc_resampled(positive: np.ndarray, negative: np.ndarray, draws: Resamples) -> np.ndarray:
    """float64[n]: the AUROC (ties ½) of each resample."""
    pos = np.asarray(positive, dtype=np.float64)[draws.positives]
    neg = np.asarray(negative, dtype=np.float64)[draws.negatives]
    n_pos, n_neg = pos.shape[1], neg.shape[1]
    ranks = stats.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    return (ranks[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def fpr_resampled(
    positive: np.ndarray, negative: np.ndarray, draws: Resamples, tpr: float = 0.95
) -> np.ndarray:
    """float64[n]: the false-positive rate at the threshold that keeps ``tpr`` of the positives,
    per resample (as :func:`pathways.analysis.stats.fpr_at_tpr`)."""
    pos = np.asarray(positive, dtype=np.float64)[draws.positives]
    neg = np.asarray(negative, dtype=np.float64)[draws.negatives]
    threshold = np.quantile(pos, 1.0 - tpr, axis=1, method="lower")
    return (neg >= threshold[:, None]).mean(axis=1)


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central percentile interval of bootstrap ``values`` (NaN, NaN for none)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or np.isnan(values).all():
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2
    low, high = np.nanquantile(values, [tail, 1.0 - tail])
    return float(low), float(high)
