"""Why a sample looks unusual: the part of the default score that weighs most, and the units.

The default score (``signature_knn_path``) is Fisher's statistic −2 Σ log p over its parts: at
every hidden layer the distance to the closest class signature and to the k-th nearest fitted
sample, and the rarity of the sample's path (:func:`pathways.analysis.novelty.signature_components`).
A sample's *reason* is the part with the largest term −2 log p (its ``layer`` and ``term``,
and that term's share of the statistic), and, at that layer (for the path term: the layer whose
two distances weigh most), the units furthest from the closest class signature — z-scores
against that class's fitted samples' mean and standard deviation per unit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.novelty import (
    PATH_TERM,
    NoveltyInputs,
    fisher_term,
    signature_components,
)

TOP_UNITS = 3


def unit_zscores(x: np.ndarray, members: np.ndarray) -> np.ndarray:
    """float[n, units]: each row of ``x`` in standard deviations of ``members`` from their mean
    per unit; a unit constant among the members counts any change as a large one (scale
    1e-3)."""
    mean, std = members.mean(axis=0), members.std(axis=0)
    return (x - mean) / np.where(std > 0, std, 1e-3)


def _reason_layers(
    keys: list[tuple[str, str]], terms: np.ndarray, best: np.ndarray, layers: list[str]
) -> np.ndarray:
    """str[n]: the layer of each sample's largest term; for the path term, the layer whose
    terms sum highest."""
    per_layer = np.stack([terms[[k[1] == layer for k in keys]].sum(axis=0) for layer in layers])
    heaviest = np.asarray(layers)[per_layer.argmax(axis=0)]
    own = np.asarray([k[1] for k in keys])[best]
    return np.where(np.asarray([k[0] for k in keys])[best] == PATH_TERM, heaviest, own)


def _top_units(
    inputs: NoveltyInputs, layer: str, rows: np.ndarray, units: list[str], top: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the samples ``rows`` at ``layer``: the closest trained class (by the signature
    distance), and the ``top`` units of largest |z| against it with their z-scores."""
    trained = inputs.trained
    closest = trained[inputs.class_distances(layer)[:, rows].argmin(axis=0)]
    x = inputs.hidden[layer][rows].astype(np.float64)
    z = np.empty_like(x)
    for c in np.unique(closest):
        here = closest == c
        z[here] = unit_zscores(x[here], inputs.hidden[layer][inputs.fit & (inputs.labels == c)])
    k = min(top, x.shape[1])
    order = np.argsort(-np.abs(z), axis=1, kind="stable")[:, :k]
    return closest, np.asarray(units)[order], np.take_along_axis(z, order, axis=1)


def sample_reasons(
    inputs: NoveltyInputs,
    sample_ids: np.ndarray,
    units: dict[str, list[str]],
    top: int = TOP_UNITS,
) -> pd.DataFrame:
    """One row per sample: ``statistic`` (the default score), the ``term`` and ``layer`` of its
    largest part, that part's ``contribution`` (−2 log p) and ``share`` of the statistic, the
    ``closest_class`` at the layer, and ``unit_1``…, ``z_1``… (largest |z| first).

    ``units``: each hidden layer's unit names (as stored)."""
    components = signature_components(inputs)
    keys = list(components)
    terms = np.stack([fisher_term(components[key], inputs.fit) for key in keys])
    statistic = terms.sum(axis=0)
    best = terms.argmax(axis=0)
    layers = _reason_layers(keys, terms, best, list(inputs.hidden))
    table = pd.DataFrame(
        {
            "sample_id": sample_ids,
            "statistic": statistic,
            "term": np.asarray([k[0] for k in keys])[best],
            "layer": layers,
            "contribution": terms[best, np.arange(len(best))],
        }
    )
    table["share"] = table["contribution"] / np.maximum(statistic, 1e-12)
    k = min(top, min(len(u) for u in units.values()))
    table["closest_class"] = 0
    for i in range(1, k + 1):
        table[f"unit_{i}"], table[f"z_{i}"] = "", 0.0
    for layer in inputs.hidden:
        rows = np.flatnonzero(layers == layer)
        if not rows.size:
            continue
        closest, names, z = _top_units(inputs, layer, rows, units[layer], k)
        table.loc[rows, "closest_class"] = closest
        for i in range(k):
            table.loc[rows, f"unit_{i + 1}"] = names[:, i]
            table.loc[rows, f"z_{i + 1}"] = z[:, i]
    return table


def reason_text(row: Mapping[str, Any], name: Callable[[Any], str] = str, code: str = "`") -> str:
    """One line: "`fc2`'s signature distance (61 % of the statistic); at `fc2`, units
    fc2:017 +6.2 σ, … from 7's signature" (``name``: a class's name from its label; ``code``:
    the quotes around a layer's name, Markdown's by default)."""
    layer = f"{code}{row['layer']}{code}"
    units = ", ".join(
        f"{row['layer']}:{row[f'unit_{i}']} {row[f'z_{i}']:+.1f} σ"
        for i in range(1, TOP_UNITS + 1)
        if row.get(f"unit_{i}")
    )
    where = "its path's rarity" if row["term"] == PATH_TERM else f"{layer}'s {row['term']}"
    return (
        f"{where} ({100 * row['share']:.0f} % of the statistic); at {layer}, units "
        f"{units} from {name(int(row['closest_class']))}'s signature"
    )
