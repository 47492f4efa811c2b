"""Novelty decisions with a known error rate: split-conformal p-values and Benjamini–Hochberg.

A novelty score ranks samples; a decision needs a threshold with a guarantee. With a
*calibration* set of trained-class samples that the score was not fitted on, the conformal
p-value of a sample with score ``s`` is ``(1 + #{calibration scores ≥ s}) / (n + 1)``: for a
sample exchangeable with the calibration set (a trained-class sample), ``P(p ≤ t) ≤ t`` for
every ``t``. Flagging the samples that Benjamini–Hochberg rejects at level ``alpha`` keeps the
expected share of trained-class samples among the flagged (the false discovery rate) at or
below ``alpha`` (Bates et al. 2023, "Testing for outliers with conformal p-values": the
conformal p-values are positively dependent, which BH needs). BH itself is SciPy's
(:func:`scipy.stats.false_discovery_control`).

>>> conformal_pvalues(np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.5, 4.0])).tolist()
[1.0, 0.5, 0.25]
"""

from __future__ import annotations

import numpy as np
from scipy.stats import false_discovery_control


def conformal_pvalues(calibration: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """float64[len(scores)]: each score's conformal p-value against the calibration scores
    (higher score = more unusual; ties count against the sample, which keeps the guarantee)."""
    calibration = np.sort(np.asarray(calibration, dtype=np.float64))
    scores = np.asarray(scores, dtype=np.float64)
    if len(calibration) == 0:
        raise ValueError("conformal p-values need at least one calibration score")
    if np.isnan(calibration).any() or np.isnan(scores).any():
        raise ValueError("conformal p-values of NaN scores are undefined")
    at_least = len(calibration) - np.searchsorted(calibration, scores, side="left")
    return (1.0 + at_least) / (len(calibration) + 1.0)


def flag_novel(pvalues: np.ndarray, alpha: float) -> np.ndarray:
    """bool[len(pvalues)]: the samples Benjamini–Hochberg rejects at false discovery rate
    ``alpha`` (none for an empty input)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"the false discovery rate must lie in (0, 1), got {alpha}")
    pvalues = np.asarray(pvalues, dtype=np.float64)
    if len(pvalues) == 0:
        return np.zeros(0, dtype=bool)
    return false_discovery_control(pvalues, method="bh") <= alpha


def realised_rates(flags: np.ndarray, novel: np.ndarray) -> tuple[float, float]:
    """(false discovery proportion, power): the share of flagged samples that are not novel
    (0 when none is flagged), and the share of novel samples flagged (NaN when none is)."""
    flags, novel = np.asarray(flags, dtype=bool), np.asarray(novel, dtype=bool)
    flagged = int(flags.sum())
    fdp = float((flags & ~novel).sum() / flagged) if flagged else 0.0
    power = float((flags & novel).sum() / novel.sum()) if novel.any() else float("nan")
    return fdp, power
