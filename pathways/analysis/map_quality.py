"""How faithful a 2-D map is to its layer: neighbour preservation and trustworthiness.

Both are measured on a seeded draw of checked samples against every sample, in the
standardised layer (every unit), so a figure says what a user reading the map needs to know:
how many of a sample's nearest neighbours in the layer are still its neighbours on the map,
and how many of its map neighbours are impostors.
"""

from __future__ import annotations

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

NEIGHBOURS = 10


def checked_samples(n: int, checked: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``checked`` samples (all when there are fewer), a seeded draw."""
    if n <= checked:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, checked, replace=False))


def _neighbours(points: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """int[len(queries), k]: each query's k nearest other points (the query itself left out)."""
    index = NearestNeighbors(n_neighbors=k + 1).fit(points)
    found = index.kneighbors(points[queries], return_distance=False)
    keep = found != queries[:, None]
    return np.array([row[mask][:k] for row, mask in zip(found, keep, strict=True)])


def neighbour_preservation(
    layer: np.ndarray, xy: np.ndarray, queries: np.ndarray, k: int = NEIGHBOURS
) -> float:
    """Mean share of each query's ``k`` nearest neighbours in ``layer`` that are also among its
    ``k`` nearest on the map ``xy`` (1 = every neighbourhood kept; random ≈ k / n)."""
    high = _neighbours(layer, queries, k)
    low = _neighbours(xy, queries, k)
    kept = [np.intersect1d(a, b).size for a, b in zip(high, low, strict=True)]
    return float(np.mean(kept) / k)


def neighbour_accuracy(
    xy: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int = NEIGHBOURS
) -> float:
    """Share of queries whose ``k`` map neighbours' majority label is their own."""
    low = _neighbours(xy, queries, k)
    votes = labels[low]
    majority = np.array([np.bincount(row).argmax() for row in votes])
    return float(np.mean(majority == labels[queries]))


def map_quality(
    values: np.ndarray, xy: np.ndarray, checked: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Neighbour preservation (``checked`` samples against all) and trustworthiness (within
    the checked samples) of the map ``xy`` of the layer ``values``, both at 10 neighbours."""
    layer = StandardScaler().fit_transform(np.asarray(values, dtype=np.float32))
    queries = checked_samples(len(layer), checked, seed)
    if len(layer) <= NEIGHBOURS + 1:
        return {"checked": len(queries), "preservation": np.nan, "trustworthiness": np.nan}
    k = min(NEIGHBOURS, len(queries) // 2 - 1)
    return {
        "checked": len(queries),
        "preservation": neighbour_preservation(layer, xy, queries),
        "trustworthiness": float(trustworthiness(layer[queries], xy[queries], n_neighbors=k))
        if k >= 1
        else np.nan,
    }
