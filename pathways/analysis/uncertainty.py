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


_CHUNK = 8
"""Resamples counted at a time: chunk × distinct scores integers per group, which stay in the
CPU's cache (0.15 s for 1,000 resamples of 14,000 scores, 0.22 s at 64)."""


def metrics_resampled(
    positive: np.ndarray, negative: np.ndarray, draws: Resamples, tpr: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """float64[n] twice: each resample's AUROC (ties ½) and its false-positive rate at the
    threshold that keeps ``tpr`` of its positives (as :func:`pathways.analysis.stats.fpr_at_tpr`:
    the positives' ``1 − tpr`` quantile, numpy's "lower" method).

    A resample drawn with replacement is a count per sample, so both come from each resample's
    counts of positives and negatives on the distinct scores in increasing order (one sort of
    the scores for all resamples, not one per resample). The AUROC is the share of (positive,
    negative) pairs ordered right, a tie counting ½: counted in integers as twice that number
    over twice the pairs, which gives the same double as the half-integer sum would."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    n_pos, n_neg, n = len(pos), len(neg), len(draws)
    distinct, inverse = np.unique(np.concatenate([pos, neg]), return_inverse=True)
    at_pos, at_neg = inverse[:n_pos], inverse[n_pos:]
    width = len(distinct)
    k = int(np.floor((1.0 - tpr) * (n_pos - 1)))  # the threshold's position among the positives

    def counted(ids: np.ndarray) -> np.ndarray:
        rows = ids + (np.arange(len(ids)) * width)[:, None]
        return np.bincount(rows.ravel(), minlength=len(ids) * width).reshape(len(ids), width)

    aurocs, fprs = np.zeros(n), np.zeros(n)
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        on_pos = counted(at_pos[draws.positives[part]])
        on_neg = counted(at_neg[draws.negatives[part]])
        below = np.cumsum(on_neg, axis=1) - on_neg  # negatives strictly below each score
        twice_ordered = (on_pos * (2 * below + on_neg)).sum(axis=1)
        aurocs[part] = twice_ordered / (2 * n_pos * n_neg)
        threshold = (np.cumsum(on_pos, axis=1) > k).argmax(axis=1)
        fprs[part] = (n_neg - below[np.arange(len(below)), threshold]) / n_neg
    return aurocs, fprs


def auroc_resampled(positive: np.ndarray, negative: np.ndarray, draws: Resamples) -> np.ndarray:
    """float64[n]: the AUROC of each resample (:func:`metrics_resampled`)."""
    return metrics_resampled(positive, negative, draws)[0]


def fpr_resampled(
    positive: np.ndarray, negative: np.ndarray, draws: Resamples, tpr: float = 0.95
) -> np.ndarray:
    """float64[n]: the FPR at ``tpr`` of each resample (:func:`metrics_resampled`)."""
    return metrics_resampled(positive, negative, draws, tpr)[1]


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central percentile interval of bootstrap ``values`` (NaN, NaN for none)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or np.isnan(values).all():
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2
    low, high = np.nanquantile(values, [tail, 1.0 - tail])
    return float(low), float(high)
