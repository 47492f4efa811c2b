"""Are two classes' signatures different? Per unit effect sizes and FDR-controlled tests.

For a pair of classes (a, b) and every unit: Cohen's d (standardised mean difference), the
AUROC of the unit for telling a from b (0.5 = no difference), and a two-sided Mann–Whitney U
p-value; p-values are adjusted with Benjamini–Hochberg across the units of the layer, and a unit
*differs* when its q-value is below ``alpha``. The per-layer summary says how many units differ
and by how much; its ``signature_distance`` (RMS of d over units) is the one-number distance
between the two signatures.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from pathways.analysis.stats import benjamini_hochberg, cohens_d, rank_tests


def class_pairs(trained: list[int], unseen: list[int]) -> list[tuple[int, int]]:
    """Trained vs trained (every pair), then each unseen class vs each trained class."""
    trained, unseen = sorted(trained), sorted(unseen)
    return list(combinations(trained, 2)) + [(u, t) for u in unseen for t in trained]


def unit_differences(
    values: np.ndarray,
    labels: np.ndarray,
    units: list[str],
    class_a: int,
    class_b: int,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Per unit: mean_a, mean_b, cohen_d, auroc, p_value, q_value, significant."""
    a, b = values[labels == class_a], values[labels == class_b]
    auroc, p = rank_tests(a, b)
    q = benjamini_hochberg(p)
    return pd.DataFrame(
        {
            "unit": units,
            "class_a": class_a,
            "class_b": class_b,
            "n_a": len(a),
            "n_b": len(b),
            "mean_a": a.mean(axis=0),
            "mean_b": b.mean(axis=0),
            "cohen_d": cohens_d(a, b),
            "auroc": auroc,
            "p_value": p,
            "q_value": q,
            "significant": q < alpha,
        }
    )


def summarise_differences(differences: pd.DataFrame) -> pd.DataFrame:
    """Per (layer, class_a, class_b): how many units differ and by how much."""

    def one(group: pd.DataFrame) -> pd.Series:
        sig = group[group["significant"]]
        order = group.assign(abs_d=group["cohen_d"].abs()).sort_values("abs_d", ascending=False)
        return pd.Series(
            {
                "n_units": len(group),
                "n_significant": len(sig),
                "share_significant": len(sig) / len(group),
                "median_abs_d_significant": float(sig["cohen_d"].abs().median())
                if len(sig)
                else 0.0,
                "max_abs_d": float(group["cohen_d"].abs().max()),
                "signature_distance": float(np.sqrt((group["cohen_d"] ** 2).mean())),
                "top_units": ",".join(order["unit"].head(5)),
            }
        )

    keys = [k for k in ("layer", "class_a", "class_b") if k in differences]
    return differences.groupby(keys, sort=False).apply(one, include_groups=False).reset_index()
