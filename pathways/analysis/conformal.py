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

from typing import Any

import numpy as np
from scipy.stats import binomtest, false_discovery_control


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


def calibration_split(
    labels: np.ndarray, eligible: np.ndarray, share: float, seed: int
) -> np.ndarray:
    """bool[n]: a seeded draw of ``share`` of each class's ``eligible`` samples (rounded, at
    least one per class when the class has two or more), the calibration part."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"the calibration share must lie in (0, 1), got {share}")
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels[eligible]):
        members = np.flatnonzero(eligible & (labels == c))
        take = min(max(round(share * len(members)), 1), len(members) - 1)
        chosen[rng.choice(members, size=take, replace=False)] = True
    return chosen


def proportion_interval(successes: int, trials: int) -> tuple[float, float]:
    """Wilson's 95 % interval of a proportion (NaN, NaN without trials)."""
    if trials == 0:
        return float("nan"), float("nan")
    found = binomtest(successes, trials).proportion_ci(0.95, method="wilson")
    return float(found.low), float(found.high)


def best_power_at(scores: np.ndarray, novel: np.ndarray, alpha: float) -> float:
    """The highest power any score threshold reaches with a realised FDP ≤ ``alpha``, chosen
    knowing which samples are novel (an upper bound no decision rule can promise)."""
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], novel[order]
    flagged = np.arange(1, len(ranked) + 1)
    fdp = np.cumsum(~hits) / flagged
    cut = np.append(ranked[1:] != ranked[:-1], True)  # a threshold only between distinct scores
    allowed = np.flatnonzero(cut & (fdp <= alpha))
    if not allowed.size or not novel.any():
        return 0.0 if novel.any() else float("nan")
    return float(np.cumsum(hits)[allowed[-1]] / novel.sum())


def decision_row(
    scores: np.ndarray,
    pvalues: np.ndarray,
    flags: np.ndarray,
    novel: np.ndarray,
    alpha: float,
) -> dict[str, float]:
    """What the flags of one score did on the screened samples (arrays restricted to them):
    counts, the realised false discovery proportion and power with Wilson intervals, and the
    same for the unguaranteed threshold ``p ≤ alpha`` without correction (each trained sample
    flagged with probability ≤ ``alpha``, the usual calibrated threshold) and the best power
    reachable at FDP ≤ ``alpha`` knowing the answers."""
    fdp, power = realised_rates(flags, novel)
    uncorrected = pvalues <= alpha
    u_fdp, u_power = realised_rates(uncorrected, novel)
    flagged, found, n_novel = int(flags.sum()), int((flags & novel).sum()), int(novel.sum())
    fdp_low, fdp_high = proportion_interval(flagged - found, flagged)
    power_low, power_high = proportion_interval(found, n_novel)
    return {
        "screened": len(scores),
        "novel": n_novel,
        "flagged": flagged,
        "flagged_novel": found,
        "fdp": fdp,
        "fdp_low": fdp_low,
        "fdp_high": fdp_high,
        "power": power,
        "power_low": power_low,
        "power_high": power_high,
        "uncorrected_flagged": int(uncorrected.sum()),
        "uncorrected_fdp": u_fdp,
        "uncorrected_power": u_power,
        "oracle_power": best_power_at(scores, novel, alpha),
    }


def decide(
    scores: dict[str, np.ndarray],
    calibration: np.ndarray,
    screened: np.ndarray,
    novel: np.ndarray,
    alpha: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[dict[str, Any]]]:
    """Every score's conformal p-values (all samples, against the ``calibration`` samples'
    scores), its Benjamini–Hochberg flags at ``alpha`` over the ``screened`` samples (False
    elsewhere), and one :func:`decision_row` per score (``novel``: the ground truth)."""
    pvalues, flags, rows = {}, {}, []
    for method, score in scores.items():
        flagged = np.zeros(len(score), dtype=bool)
        if calibration.any():
            p = conformal_pvalues(score[calibration], score)
            flagged[screened] = flag_novel(p[screened], alpha)
        else:  # no trained-class sample to calibrate on: no p-value, no flag
            p = np.full(len(score), np.nan)
        pvalues[method], flags[method] = p, flagged
        row = decision_row(score[screened], p[screened], flagged[screened], novel[screened], alpha)
        rows.append(
            {"method": method, "alpha": alpha, "calibration": int(calibration.sum()), **row}
        )
    return pvalues, flags, rows
