"""How well each novelty score tells unseen-class samples from trained-class ones, with
bootstrap intervals: AUROC and FPR at 95 % TPR pooled and per unseen class, differences to our
score, the per-layer oracle, and how strongly each class's samples resemble each signature.

The scores themselves are :mod:`pathways.analysis.novelty`; every evaluation here uses the
test split only, with resamples shared between scores (one ``memo`` per step).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.novelty import signature_distance
from pathways.analysis.novelty_scores import NOVELTY_SCORES, score_kind, score_note
from pathways.analysis.stats import auroc, fpr_at_tpr
from pathways.analysis.uncertainty import (
    interval,
    metrics_resampled,
    stratified_resamples,
)


def with_notes_and_oracle(metrics: pd.DataFrame, last_layer: str) -> pd.DataFrame:
    """``metrics`` with each method's kind and note, plus one ``oracle`` row per per-layer
    score: its best layer, chosen on the evaluation data (an upper bound, not a method)."""
    metrics = metrics.copy()
    metrics["kind"] = [score_kind(m) for m in metrics["method"]]
    metrics["note"] = [score_note(m) for m in metrics["method"]]
    oracles = []
    for score in (s for s in NOVELTY_SCORES.values() if s.per_layer):
        rows = metrics[metrics["method"].str.startswith(f"{score.name}:")]
        metrics.loc[metrics["method"] == f"{score.name}:{last_layer}", "note"] = (
            "last hidden layer (standard choice)"
        )
        if rows["auroc"].isna().all():  # no unseen test samples: nothing to choose a layer by
            continue
        best = rows.loc[rows["auroc"].idxmax()]
        oracles.append(
            {
                **best.to_dict(),
                "method": f"{score.name}:best-layer",
                "kind": "oracle",
                "note": f"layer {best['method'].split(':')[1]} chosen on the evaluation data (upper bound)",
            }
        )
    return pd.concat([metrics, pd.DataFrame(oracles)], ignore_index=True) if oracles else metrics


def by_class_with_notes_and_oracle(by_class: pd.DataFrame, last_layer: str) -> pd.DataFrame:
    """:func:`with_notes_and_oracle` for each unseen class's rows (its own best layer)."""
    if by_class.empty:
        return by_class.assign(kind=[], note=[])
    frames = [
        with_notes_and_oracle(group.drop(columns=["unseen_class"]), last_layer).assign(
            unseen_class=int(u)
        )
        for u, group in by_class.groupby("unseen_class", sort=True)
    ]
    table = pd.concat(frames, ignore_index=True)
    return table[["unseen_class", *[c for c in table.columns if c != "unseen_class"]]]


def signature_affinity(
    layer_values: dict[str, np.ndarray], labels: np.ndarray, fit: np.ndarray, unseen: list[int]
) -> pd.DataFrame:
    """Per layer and unseen class: the share of its samples whose closest trained signature is
    each trained class."""
    rows = []
    trained = np.unique(labels[fit])
    for depth, (layer, values) in enumerate(layer_values.items()):
        distances = np.stack(
            [signature_distance(values, labels, fit & (labels == c)) for c in trained], axis=1
        )
        closest = trained[distances.argmin(axis=1)]
        for u in unseen:
            members = labels == u
            for c in trained:
                rows.append(
                    {
                        "layer": layer,
                        "depth": depth,
                        "unseen_class": u,
                        "trained_class": int(c),
                        "share": float((closest[members] == c).mean()),
                    }
                )
    return pd.DataFrame(rows)


def _resampled(
    memo: dict | None, score: np.ndarray, positive: np.ndarray, negative: np.ndarray, draws: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Each resample's AUROC and FPR at 95 % TPR of one score on one group, computed once per
    stage: the metrics, the per-class metrics and the differences share ``memo``."""
    pos, neg = score[positive], score[negative]
    key = (
        hashlib.sha1(pos.tobytes()).hexdigest(),
        hashlib.sha1(neg.tobytes()).hexdigest(),
        len(draws),
    )
    if memo is not None and key in memo:
        return memo[key]
    found = metrics_resampled(pos, neg, draws)
    if memo is not None:
        memo[key] = found
    return found


def _group_rows(
    scores: dict[str, np.ndarray],
    positive: np.ndarray,
    negative: np.ndarray,
    draws: Any,
    memo: dict | None = None,
) -> list[dict[str, Any]]:
    """AUROC and FPR at 95 % TPR of each score, positives against negatives, with bootstrap
    intervals when ``draws`` (resamples of the two groups) are given."""
    rows = []
    truth = np.concatenate([np.ones(positive.sum(), bool), np.zeros(negative.sum(), bool)])
    for method, score in scores.items():
        values = np.concatenate([score[positive], score[negative]])
        row = {
            "method": method,
            "auroc": auroc(values, truth),
            "fpr_at_95_tpr": fpr_at_tpr(values, truth, 0.95),
            "n_unseen": int(positive.sum()),
            "n_trained": int(negative.sum()),
        }
        if draws is not None:
            aurocs, fprs = _resampled(memo, score, positive, negative, draws)
            row["auroc_low"], row["auroc_high"] = interval(aurocs)
            row["fpr_low"], row["fpr_high"] = interval(fprs)
        rows.append(row)
    return rows


def _draws(positive: np.ndarray, negative: np.ndarray, bootstrap: int, seed: int) -> Any:
    if bootstrap <= 0 or not positive.any() or not negative.any():
        return None
    return stratified_resamples(int(positive.sum()), int(negative.sum()), bootstrap, seed)


def evaluate(
    scores: dict[str, np.ndarray],
    unseen: np.ndarray,
    evaluate_on: np.ndarray,
    bootstrap: int = 0,
    seed: int = 0,
    memo: dict | None = None,
) -> pd.DataFrame:
    """AUROC and FPR at 95 % TPR of each score for unseen (positive) vs trained samples, all
    unseen classes pooled; with ``bootstrap`` resamples, their 95 % intervals (``auroc_low``,
    ``auroc_high``, ``fpr_low``, ``fpr_high``)."""
    positive, negative = evaluate_on & unseen, evaluate_on & ~unseen
    draws = _draws(positive, negative, bootstrap, seed)
    rows = _group_rows(scores, positive, negative, draws, memo)
    return pd.DataFrame(rows)


def evaluate_by_class(
    scores: dict[str, np.ndarray],
    labels: np.ndarray,
    unseen: np.ndarray,
    evaluate_on: np.ndarray,
    bootstrap: int = 0,
    seed: int = 0,
    memo: dict | None = None,
) -> pd.DataFrame:
    """:func:`evaluate` for each unseen class alone (its test samples against every trained
    test sample): one row per (``unseen_class``, method)."""
    frames = []
    negative = evaluate_on & ~unseen
    for u in np.unique(labels[unseen]):
        positive = evaluate_on & (labels == u)
        draws = _draws(positive, negative, bootstrap, seed)
        rows = _group_rows(scores, positive, negative, draws, memo)
        frames.append(pd.DataFrame(rows).assign(unseen_class=int(u)))
    if not frames:
        return pd.DataFrame(columns=["unseen_class", "method", "auroc", "fpr_at_95_tpr"])
    table = pd.concat(frames, ignore_index=True)
    return table[["unseen_class", *[c for c in table.columns if c != "unseen_class"]]]


def score_differences(
    scores: dict[str, np.ndarray],
    ours: str,
    labels: np.ndarray,
    unseen: np.ndarray,
    evaluate_on: np.ndarray,
    bootstrap: int,
    seed: int = 0,
    memo: dict | None = None,
) -> pd.DataFrame:
    """Our score minus every other score, in AUROC and in FPR at 95 % TPR, with paired bootstrap
    intervals (the same resamples for both scores): all unseen classes pooled
    (``unseen_class`` missing) and each unseen class alone. A positive AUROC difference and a
    negative FPR difference favour ours."""
    negative = evaluate_on & ~unseen
    classes = np.unique(labels[unseen])
    groups: list[tuple[Any, np.ndarray]] = [(pd.NA, evaluate_on & unseen)]
    if len(classes) > 1:  # one unseen class: its rows are the pooled ones (copied below)
        groups += [(int(u), evaluate_on & (labels == u)) for u in classes]
    rows = []
    for group, positive in groups:
        draws = _draws(positive, negative, bootstrap, seed)
        if draws is None:
            continue
        mine = scores[ours]
        base_auroc, base_fpr = _resampled(memo, mine, positive, negative, draws)
        point = _group_rows({ours: mine}, positive, negative, None)[0]
        for method, score in scores.items():
            if method == ours:
                continue
            other = _group_rows({method: score}, positive, negative, None)[0]
            other_auroc, other_fpr = _resampled(memo, score, positive, negative, draws)
            d_auroc, d_fpr = base_auroc - other_auroc, base_fpr - other_fpr
            rows.append(
                {
                    "unseen_class": group,
                    "method": method,
                    "auroc_difference": point["auroc"] - other["auroc"],
                    "auroc_difference_low": interval(d_auroc)[0],
                    "auroc_difference_high": interval(d_auroc)[1],
                    "fpr_difference": point["fpr_at_95_tpr"] - other["fpr_at_95_tpr"],
                    "fpr_difference_low": interval(d_fpr)[0],
                    "fpr_difference_high": interval(d_fpr)[1],
                }
            )
    table = pd.DataFrame(rows)
    if len(classes) == 1 and not table.empty:
        table = pd.concat([table, table.assign(unseen_class=int(classes[0]))], ignore_index=True)
    if not table.empty:
        table["unseen_class"] = table["unseen_class"].astype("Int64")
    return table
