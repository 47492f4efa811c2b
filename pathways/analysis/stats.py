"""Statistics shared by the analyses: AUROC, FPR at a TPR, effect sizes, tests, FDR.

Example
-------
>>> import numpy as np
>>> auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True]))
0.75
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _ranks(values: np.ndarray) -> np.ndarray:
    return stats.rankdata(values, axis=0)


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for telling ``positive`` samples apart (ties: ½)."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = positive.sum(), (~positive).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def rank_tests(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, from one ranking of a and b together: the AUROC of the column for "is a"
    (P(a > b) + ½ P(a = b)) and the two-sided Mann–Whitney U p-value (normal approximation
    with tie correction and continuity correction, as ``scipy.stats.mannwhitneyu(...,
    method="asymptotic")``; 1 where all values tie).

    a : float[n_a, n_units], b : float[n_b, n_units]. Ranking once (one sort per unit)
    instead of once per statistic is most of the signature step's speed: its time is ranking.
    """
    n_a, n_b = len(a), len(b)
    n = n_a + n_b
    # units × samples, each unit's values contiguous, in the inputs' own precision: sorting
    # rows of float32 is what makes this fast, and the order is the same as in float64
    both = np.ascontiguousarray(np.concatenate([a, b]).T)
    order = np.argsort(both, axis=1)
    ordered = np.take_along_axis(both, order, axis=1)
    starts = np.ones(ordered.shape, dtype=bool)  # where a run of tied values begins
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=starts[:, 1:])
    ends = np.ones(ordered.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    position = np.arange(n, dtype=np.float64)
    first = np.maximum.accumulate(np.where(starts, position, 0.0), axis=1)
    last = np.minimum.accumulate(np.where(ends, position, float(n))[:, ::-1], axis=1)[:, ::-1]
    # average rank of each run; half-integers, so the sums below are exact in any order
    u_a = np.where(order < n_a, (first + last) / 2 + 1, 0.0).sum(axis=1) - n_a * (n_a + 1) / 2
    auroc = u_a / (n_a * n_b)
    run_length = last - first + 1
    tie_term = (run_length**2 - 1).sum(axis=1)  # Σ over runs of t³ − t, t per tied value
    u = np.maximum(u_a, n_a * n_b - u_a)
    spread = np.sqrt(n_a * n_b / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (u - n_a * n_b / 2 - 0.5) / spread
    p = np.clip(2 * stats.norm.sf(z), 0.0, 1.0)
    return auroc, np.nan_to_num(p, nan=1.0)


def auroc_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float64[n_units]: per column, P(a > b) + ½ P(a = b) — the AUROC of a column for "is a".

    a : float[n_a, n_units], b : float[n_b, n_units]
    """
    return rank_tests(a, b)[0]


def fpr_at_tpr(scores: np.ndarray, positive: np.ndarray, tpr: float = 0.95) -> float:
    """False-positive rate when the threshold keeps ``tpr`` of the positives (higher = positive)."""
    positive = np.asarray(positive, dtype=bool)
    pos, neg = np.asarray(scores)[positive], np.asarray(scores)[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    threshold = np.quantile(pos, 1.0 - tpr, method="lower")
    return float((neg >= threshold).mean())


def cohens_d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float64[n_units]: (mean a − mean b) / pooled std; 0 where both columns are constant."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    n_a, n_b = len(a), len(b)
    var = ((n_a - 1) * a.var(axis=0, ddof=1) + (n_b - 1) * b.var(axis=0, ddof=1)) / max(
        n_a + n_b - 2, 1
    )
    diff = a.mean(axis=0) - b.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = diff / np.sqrt(var)
    return np.where(var > 0, d, 0.0)


def mann_whitney_p(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float64[n_units]: two-sided Mann–Whitney U p-values per column (1 where all values tie)."""
    return rank_tests(a, b)[1]


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values) over all given tests."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    return stats.false_discovery_control(p, method="bh")
