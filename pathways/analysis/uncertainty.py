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

from collections.abc import Iterator
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


_CHUNK = 64
"""Resamples weighed at a time (memory: chunk × distinct scores floats per group)."""


def _weights(
    positive: np.ndarray, negative: np.ndarray, draws: Resamples
) -> tuple[int, int, Iterator[tuple[np.ndarray, np.ndarray]]]:
    """A resample drawn with replacement is a count per sample: per chunk of resamples, the
    positives' and the negatives' counts on each distinct score (in increasing order), float
    [chunk, distinct] each — ranks come from one sort of the scores, not one per resample."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    distinct, inverse = np.unique(np.concatenate([pos, neg]), return_inverse=True)
    at_pos, at_neg = inverse[: len(pos)], inverse[len(pos) :]
    width = len(distinct)

    def counted(ids: np.ndarray) -> np.ndarray:
        rows = ids + (np.arange(len(ids)) * width)[:, None]
        return np.bincount(rows.ravel(), minlength=len(ids) * width).reshape(len(ids), width)

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(draws), _CHUNK):
            part = slice(start, start + _CHUNK)
            yield (
                counted(at_pos[draws.positives[part]]).astype(np.float64),
                counted(at_neg[draws.negatives[part]]).astype(np.float64),
            )

    return len(pos), len(neg), chunks()


def auroc_resampled(positive: np.ndarray, negative: np.ndarray, draws: Resamples) -> np.ndarray:
    """float64[n]: the AUROC (ties ½) of each resample — the share of (positive, negative)
    pairs ordered right, from each resample's counts on the sorted distinct scores."""
    n_pos, n_neg, chunks = _weights(positive, negative, draws)
    found = []
    for w_pos, w_neg in chunks:
        below = np.cumsum(w_neg, axis=1) - w_neg  # negatives strictly below each score
        found.append((w_pos * (below + 0.5 * w_neg)).sum(axis=1) / (n_pos * n_neg))
    return np.concatenate(found) if found else np.zeros(0)


def fpr_resampled(
    positive: np.ndarray, negative: np.ndarray, draws: Resamples, tpr: float = 0.95
) -> np.ndarray:
    """float64[n]: the false-positive rate at the threshold that keeps ``tpr`` of the positives,
    per resample (as :func:`pathways.analysis.stats.fpr_at_tpr`: the threshold is the
    resample's positives' ``1 − tpr`` quantile, numpy's "lower" method)."""
    n_pos, n_neg, chunks = _weights(positive, negative, draws)
    k = int(np.floor((1.0 - tpr) * (n_pos - 1)))  # the threshold's position among the positives
    found = []
    for w_pos, w_neg in chunks:
        threshold = (np.cumsum(w_pos, axis=1) > k).argmax(axis=1)
        at_least = n_neg - (np.cumsum(w_neg, axis=1) - w_neg)[np.arange(len(w_neg)), threshold]
        found.append(at_least / n_neg)
    return np.concatenate(found) if found else np.zeros(0)


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central percentile interval of bootstrap ``values`` (NaN, NaN for none)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or np.isnan(values).all():
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2
    low, high = np.nanquantile(values, [tail, 1.0 - tail])
    return float(low), float(high)
