"""What the interventions measured: unit rankings, bootstrap intervals, and the three verdicts.

The interventions stage (``pathways.stages.interventions``) runs the network with edits; this
module decides *what* to edit and *what it means*, on plain arrays:

- :func:`signature_ranking` orders a layer's units (conv: channels) for a class by the stored
  signature differences (Cohen's d of the class against each other trained class, signed so that
  positive means "higher for this class", averaged; a channel takes its larger of mean and max);
  :func:`pair_ranking` by the absolute d of one pair (for patching);
- :func:`k_grid`: how many units to ablate, powers of two up to ``max_share`` of the layer;
- :func:`bootstrap_means`: seeded percentile intervals of per-sample means (paired: the same
  resamples for every row, so differences of rows get intervals too);
- :func:`units_to_break`, :func:`ablation_summary`, :func:`patching_summary`,
  :func:`route_summary`: the answers the report states.

Example
-------
>>> k_grid(256, 0.25)
[1, 2, 4, 8, 16, 32, 64]
>>> k_grid(6, 0.25)
[1]
>>> import numpy as np
>>> low, high = bootstrap_means(np.array([[1.0] * 50 + [0.0] * 50]), 1000, seed=0)
>>> bool(0.39 < low[0] < 0.5 < high[0] < 0.61)
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd


def unit_index(unit: str) -> int:
    """The channel (or dense unit) a stored unit name stands for: ``"mean_3"`` → 3, ``"017"`` → 17."""
    return int(str(unit).rsplit("_", 1)[-1])


def _by_channel(units: pd.Series, scores: pd.Series, n_units: int) -> np.ndarray:
    """float64[n_units]: per channel, the largest score of its stored parts (−inf if none)."""
    best = np.full(n_units, -np.inf)
    np.maximum.at(best, units.map(unit_index).to_numpy(), scores.to_numpy(dtype=np.float64))
    return best


def signature_ranking(
    differences: pd.DataFrame, layer: str, cls: int, trained: list[int], n_units: int
) -> tuple[np.ndarray, np.ndarray]:
    """Units of ``layer`` ordered by how much higher ``cls`` is on them than the other trained
    classes (mean signed Cohen's d), and those scores (same order)."""
    part = differences[differences["layer"] == layer]
    signed = []
    for other in (c for c in trained if c != cls):
        mine = part[(part["class_a"] == cls) & (part["class_b"] == other)]
        sign = 1.0
        if mine.empty:
            mine, sign = part[(part["class_a"] == other) & (part["class_b"] == cls)], -1.0
        signed.append(mine.set_index("unit")["cohen_d"] * sign)
    if not signed:
        raise ValueError(f"no stored differences of class {cls} at {layer}")
    mean = pd.concat(signed, axis=1).mean(axis=1).fillna(0.0)
    scores = _by_channel(pd.Series(mean.index), pd.Series(mean.to_numpy()), n_units)
    order = np.argsort(-scores, kind="stable")
    return order, scores[order]


def pair_ranking(differences: pd.DataFrame, layer: str, a: int, b: int, n_units: int) -> np.ndarray:
    """Units of ``layer`` ordered by |Cohen's d| between ``a`` and ``b`` (largest first)."""
    part = differences[(differences["layer"] == layer)]
    pair = part[
        ((part["class_a"] == a) & (part["class_b"] == b))
        | ((part["class_a"] == b) & (part["class_b"] == a))
    ]
    scores = _by_channel(pair["unit"], pair["cohen_d"].abs().fillna(0.0), n_units)
    return np.argsort(-scores, kind="stable")


def k_grid(n_units: int, max_share: float) -> list[int]:
    """Powers of two below ``max_share`` of ``n_units``, and that share itself (at least 1)."""
    cap = max(1, int(np.floor(max_share * n_units)))
    grid = {2**i for i in range(int(np.log2(cap)) + 1)} | {cap}
    return sorted(k for k in grid if k <= cap)


def patch_count(n_units: int, share: float) -> int:
    """Units patched at a layer of ``n_units``: ``share`` of them, rounded, at least 1."""
    return max(1, int(round(share * n_units)))


def bootstrap_means(
    values: np.ndarray, n: int, seed: int = 0, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of the mean of each row of ``values`` (float[m, samples]) over
    ``n`` seeded resamples of the samples, the same resamples for every row (NaN without
    resamples or samples)."""
    values = np.asarray(values, dtype=np.float64)
    rows, samples = values.shape
    if n <= 0 or samples == 0:
        return np.full(rows, np.nan), np.full(rows, np.nan)
    counts = _resample_counts(samples, n, seed)
    means = values @ counts.T / samples  # [rows, n]
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail], axis=1)
    return low, high


@functools.lru_cache(maxsize=16)
def _resample_counts(samples: int, n: int, seed: int) -> np.ndarray:
    """int[n, samples]: how often each sample is drawn in each of ``n`` seeded resamples (the
    same for every call with these arguments: paired across series of one length)."""
    counts = np.random.default_rng(seed).multinomial(samples, np.full(samples, 1 / samples), n)
    counts.flags.writeable = False
    return counts


def smallest_switch(
    switches: Callable[[np.ndarray], np.ndarray],
    rows: int,
    high: float,
    integer: bool,
    steps: int = 8,
) -> np.ndarray:
    """Per row, the smallest amount in (0, ``high``] at which ``switches(amounts)`` (one amount
    per row → bool per row) is true, by bisection; NaN for rows that do not switch at ``high``.
    Integer amounts are exact; real ones within ``high / 2**steps``. Assumes a row that switches
    at some amount switches at every larger one (checked only at the ends).

    >>> smallest_switch(lambda k: k >= np.array([3, 7, 99]), 3, 10, integer=True).tolist()
    [3.0, 7.0, nan]
    """
    low = np.zeros(rows)
    top = np.full(rows, float(high))
    found = switches(top.copy())
    if integer:
        steps = int(np.ceil(np.log2(max(high, 1)))) + 1
    for _ in range(steps):
        mid = np.floor((low + top) / 2) if integer else (low + top) / 2
        active = found & (top - low > (1 if integer else 0))
        if not active.any():
            break
        trial = np.where(active, mid, top)
        switched = switches(trial)
        top = np.where(active & switched, mid, top)
        low = np.where(active & ~switched, mid, low)
    return np.where(found, top, np.nan)


def median_interval(
    values: np.ndarray, n: int, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """The median of ``values`` (NaN counts as larger than every number: "never") and its
    bootstrap percentile interval over ``n`` seeded resamples."""
    filled = np.where(np.isnan(values), np.inf, np.asarray(values, dtype=np.float64))
    if len(filled) == 0:
        return float("nan"), float("nan"), float("nan")
    median = float(np.median(filled))
    if n <= 0:
        return median, float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(0, len(filled), (n, len(filled)))
    tail = (1 - level) / 2
    low, high = np.quantile(np.median(filled[draws], axis=1), [tail, 1 - tail], method="nearest")
    return tuple(float(v) if np.isfinite(v) else float("nan") for v in (median, low, high))


def units_to_break(ks: np.ndarray, accuracy: np.ndarray, clean: float, share: float) -> float:
    """The smallest k whose accuracy is at most ``share`` × the clean accuracy (NaN: none)."""
    broken = np.flatnonzero(np.asarray(accuracy) <= share * clean)
    return float(np.asarray(ks)[broken[0]]) if len(broken) else float("nan")


def ablation_summary(curves: pd.DataFrame, contrasts: pd.DataFrame, share: float) -> pd.DataFrame:
    """Per (layer, class): units needed to break the class by each ranking, and at the largest
    k how much more the signature's ablation lowers accuracy and the logit margin than random
    and attribution-ranked units do (paired intervals), and whether it beats them: its margin
    falls further, the interval above 0 (accuracy sits at its ceiling long after the margin
    has moved)."""
    rows = []
    for (layer, cls), group in curves.groupby(["layer", "class"], sort=False):
        row = {"layer": layer, "class": cls, "n_units": int(group["n_units"].iloc[0])}
        row["clean_accuracy"] = clean = float(group["clean_accuracy"].iloc[0])
        for ranking, part in group.groupby("ranking"):
            part = part.sort_values("k")
            row[f"break_{ranking}"] = units_to_break(part["k"], part["accuracy"], clean, share)
            row[f"accuracy_at_max_{ranking}"] = float(part["accuracy"].iloc[-1])
        row["max_k"] = int(group["k"].max())
        mine = contrasts[(contrasts["layer"] == layer) & (contrasts["class"] == cls)]
        for versus, part in mine.groupby("versus"):
            last = part.sort_values("k").iloc[-1]
            for measure in ("drop", "margin_drop"):
                for end in ("", "_low", "_high"):
                    row[f"extra_{measure}_vs_{versus}{end}"] = float(last[f"extra_{measure}{end}"])
            row[f"beats_{versus}"] = bool(last["extra_margin_drop_low"] > 0)
        rows.append(row)
    return pd.DataFrame(rows)


def patching_summary(
    patching: pd.DataFrame,
    layers: list[str],
    correlational: pd.DataFrame,
    bootstrap: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per trained pair and layer, both directions pooled: the *transfer share* — the median
    over samples of the smallest share of the layer's units that, patched from a sample of the
    other class (the pair's most different units first), makes the prediction follow it (a
    sample that never follows counts as more than the whole layer) — with its interval, the
    same in random order, and how often patching the whole layer hands the prediction over.
    Per pair: the *causal divergence layer*, the first where the pair's most different units
    carry the prediction more than arbitrary ones (the transfer share's interval lies wholly
    below the random order's), beside the probe/purity layer of the divergence stage, and
    whether the two agree."""
    rows = []
    for (a, b, layer), group in patching.groupby(["pair_a", "pair_b", "layer"], sort=False):
        row = {"class_a": a, "class_b": b, "layer": layer, "n": len(group)}
        row["n_units"] = int(group["n_units"].iloc[0])
        for name in ("top", "random"):
            found = median_interval(group[f"{name}_share"].to_numpy(), bootstrap, seed)
            row.update(
                dict(
                    zip(
                        [f"{name}_share", f"{name}_share_low", f"{name}_share_high"],
                        found,
                        strict=True,
                    )
                )
            )
        row["whole_layer_follows"] = float(group["top_share"].notna().mean())
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["depth"] = table["layer"].map({layer: i for i, layer in enumerate(layers)})
    table = table.sort_values(["class_a", "class_b", "depth"], kind="stable").drop(columns="depth")
    verdicts = []
    for (a, b), group in table.groupby(["class_a", "class_b"], sort=False):
        ok = group[group["top_share_high"] < group["random_share_low"]]
        known = correlational[(correlational["class_a"] == a) & (correlational["class_b"] == b)]
        probe = known["divergence_layer"].iloc[0] if len(known) else None
        causal = ok["layer"].iloc[0] if len(ok) else None
        verdicts.append(
            {
                "class_a": a,
                "class_b": b,
                "causal_layer": causal,
                "probe_layer": probe,
                "agree": causal == probe,
            }
        )
    table = table.merge(pd.DataFrame(verdicts), on=["class_a", "class_b"])
    table["rule"] = (
        "first layer where a sample follows the other class with fewer of its units patched "
        "in order of difference than in random order (median, 95 % intervals apart)"
    )
    return table.reset_index(drop=True)


def route_summary(
    routes: pd.DataFrame, layers: list[str], bootstrap: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Per group (unseen or trained), class of samples, target class and layer: the median
    *switch fraction* — how far along the way from its call's route to the target's route a
    sample must move for its call to become the target (a sample that does not even at the
    whole way counts as more) — with its interval, the share that switches by the whole way,
    and the share a random move as long switches. Per (class, target): the *deciding layer*,
    where the smallest move switches the median sample (the earliest on ties), and whether it
    is clear (its interval lies below every other layer's)."""
    rows = []
    keys = ["group", "label", "target", "layer"]
    for (group, label, target, layer), part in routes.groupby(keys, sort=False):
        fractions = part["switch_fraction"].to_numpy()
        median, low, high = median_interval(fractions, bootstrap, seed)
        random = part["random_moved"].to_numpy(dtype=float)[None]
        random_low, random_high = bootstrap_means(random, bootstrap, seed)
        rows.append(
            {
                "group": group,
                "label": label,
                "target": target,
                "layer": layer,
                "n": len(part),
                "switch_fraction": median,
                "switch_fraction_low": low,
                "switch_fraction_high": high,
                "switched_whole_way": float(np.isfinite(fractions).mean()),
                "random_moved": float(random.mean()),
                "random_moved_low": float(random_low[0]),
                "random_moved_high": float(random_high[0]),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["depth"] = table["layer"].map({layer: i for i, layer in enumerate(layers)})
    table = table.sort_values(["group", "label", "target", "depth"], kind="stable")
    deciding, clear = {}, {}
    for key, part in table.groupby(["group", "label", "target"], sort=False):
        known = part.dropna(subset=["switch_fraction"]).sort_values(
            "switch_fraction", kind="stable"
        )
        deciding[key] = known["layer"].iloc[0] if len(known) else None
        others = known.iloc[1:]
        first_high = known["switch_fraction_high"].iloc[0] if len(known) else float("nan")
        clear[key] = bool(len(known)) and bool((others["switch_fraction_low"] > first_high).all())
    keys = list(zip(table["group"], table["label"], table["target"], strict=True))
    table["deciding_layer"] = [deciding[k] for k in keys]
    table["deciding_clear"] = [clear[k] for k in keys]
    return table.drop(columns="depth").reset_index(drop=True)
