"""Class signatures: how each unit of a layer responds to each class.

For every (unit, class): mean and std of the activation, firing rate (share of samples with
activation above a threshold, 0 by default — "the unit is on") and a selectivity index

    selectivity(u, c) = (μ_c − μ_rest) / (|μ_c| + |μ_rest|)

where μ_rest is the mean of the other classes' means (Morcos et al., 2018, for one class against
the others): +1 means the unit fires only for c, 0 no preference, −1 it fires for all but c. A
class's *top units* are its most selective ones.

Example
-------
>>> import numpy as np
>>> values = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 1.0]])
>>> sig = class_signatures(values, np.array([1, 1, 7, 7]), ["u0", "u1"])
>>> sig.loc[(sig["class"] == 1) & (sig["unit"] == "u0"), "selectivity"].item()
1.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def class_signatures(
    values: np.ndarray, labels: np.ndarray, units: list[str], threshold: float = 0.0, top: int = 10
) -> pd.DataFrame:
    """Tidy signature table: unit, class, n, mean, std, firing_rate, selectivity, rank, top.

    values : float[n_samples, n_units]; labels : int[n_samples]. ``rank`` orders a class's units
    by selectivity (1 = most selective); ``top`` marks the ``top`` best.
    """
    classes = np.unique(labels)
    means = np.stack([values[labels == c].mean(axis=0) for c in classes])  # [n_classes, n_units]
    frames = []
    for i, cls in enumerate(classes):
        members = values[labels == cls]
        rest = (
            np.delete(means, i, axis=0).mean(axis=0)
            if len(classes) > 1
            else np.zeros(means.shape[1])
        )
        denom = np.abs(means[i]) + np.abs(rest)
        with np.errstate(divide="ignore", invalid="ignore"):
            selectivity = np.where(denom > 0, (means[i] - rest) / denom, 0.0)
        rank = np.empty(len(units), dtype=np.int64)
        rank[np.argsort(-selectivity, kind="stable")] = np.arange(1, len(units) + 1)
        frames.append(
            pd.DataFrame(
                {
                    "unit": units,
                    "class": int(cls),
                    "n": len(members),
                    "mean": means[i],
                    "std": members.std(axis=0, ddof=1) if len(members) > 1 else 0.0,
                    "firing_rate": (members > threshold).mean(axis=0),
                    "selectivity": selectivity,
                    "rank": rank,
                    "top": rank <= top,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def signature_matrix(signatures: pd.DataFrame, stat: str = "mean") -> pd.DataFrame:
    """units × classes table of one statistic, units in their stored order."""
    order = list(dict.fromkeys(signatures["unit"]))
    return signatures.pivot(index="unit", columns="class", values=stat).loc[order]
