"""Strategies: the groups of one class's explanations (spectral relevance analysis, SpRAy).

A network may recognise one class in several ways — the loop of a 2, its tail, or a watermark
that happens to come with it ("Clever Hans"). SpRAy (Lapuschkin et al., 2019) finds them by
clustering the class's attribution maps: each map is downsized and normalised, the maps are
joined in a symmetric k-nearest-neighbour graph, and the graph's normalised Laplacian is
decomposed; the number of strategies is where its eigenvalues jump (the eigengap), and k-means
on the first eigenvectors gives each map its strategy. HDBSCAN on the same eigenvectors is the
option that may leave maps unassigned (strategy -1).

Each strategy is then described by where it attends (the cell of a 3 × 3 grid of the image
holding more of its positive attribution than the class's other maps hold there) and tied to the
activation paths: how much the strategies and the paths of the same samples agree (ARI, NMI and
a permutation p-value of the NMI), and which path each strategy takes.

Example
-------
>>> import numpy as np
>>> maps = np.zeros((40, 8, 8)); maps[:20, :2, :2] = 1; maps[20:, -2:, -2:] = 1
>>> found = spectral_strategies(features(maps, 4), max_strategies=5, neighbours=5)
>>> found.k, sorted(np.bincount(found.labels).tolist())
(2, [20, 20])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csgraph
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import NearestNeighbors

REGIONS = (
    ("upper-left corner", "top edge", "upper-right corner"),
    ("left edge", "centre", "right edge"),
    ("lower-left corner", "bottom edge", "lower-right corner"),
)
"""Names of the 3 × 3 cells of an image, row by row."""


@dataclass(frozen=True)
class Strategies:
    """One class's strategies: ``labels`` (a strategy per map, -1: none), their number ``k``,
    the Laplacian's smallest ``eigenvalues`` (ascending), and ``embedding``: the maps in the
    eigenvectors the clustering saw (the first two columns are the 2-D map of the maps)."""

    labels: np.ndarray
    k: int
    eigenvalues: np.ndarray
    embedding: np.ndarray


def downsized(maps: np.ndarray, side: int) -> np.ndarray:
    """float64[n, s, s]: each map's means over an s × s grid of blocks (s = ``side``, at most the
    map's own size; block i spans floor(i·h/s) to ceil((i+1)·h/s), as adaptive average pooling
    computes them)."""
    n, h, w = maps.shape
    rows, cols = min(side, h), min(side, w)
    r0, r1 = (np.arange(rows) * h) // rows, -((-(np.arange(rows) + 1) * h) // rows)
    c0, c1 = (np.arange(cols) * w) // cols, -((-(np.arange(cols) + 1) * w) // cols)
    # block sums from a summed-area table: exact, and one pass over the maps
    table = np.zeros((n, h + 1, w + 1))
    table[:, 1:, 1:] = np.cumsum(np.cumsum(maps, axis=1, dtype=np.float64), axis=2)
    sums = table[:, r1][:, :, c1] - table[:, r0][:, :, c1]
    sums -= table[:, r1][:, :, c0] - table[:, r0][:, :, c0]
    return sums / np.outer(r1 - r0, c1 - c0)


def features(maps: np.ndarray, side: int) -> np.ndarray:
    """float64[n, s²]: each map's positive part (the evidence *for* the class) downsized to
    ``side`` and scaled to unit length (a map without any stays zeros): strategies differ in
    *where* the evidence lies, not in how much there is. Measured on a planted mark (README
    "Strategies"): the positive part isolates marked images where signed or absolute maps miss
    them."""
    flat = downsized(np.clip(maps, 0, None), side).reshape(len(maps), -1)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    return np.divide(flat, norms, out=np.zeros_like(flat), where=norms > 0)


def _laplacian(points: np.ndarray, neighbours: int) -> np.ndarray:
    """The symmetric normalised Laplacian of the symmetric k-nearest-neighbour graph (an edge
    where either point is among the other's ``neighbours`` nearest), dense."""
    k = min(neighbours, len(points) - 1)
    graph = NearestNeighbors(n_neighbors=k).fit(points).kneighbors_graph(mode="connectivity")
    graph = graph.maximum(graph.T).toarray()
    return csgraph.laplacian(graph, normed=True)


def spectral_strategies(
    points: np.ndarray, *, max_strategies: int = 8, neighbours: int = 10, seed: int = 0
) -> Strategies:
    """Strategies by spectral clustering, their number read from the eigengap: the k (1 …
    ``max_strategies``) after which the Laplacian's next eigenvalue jumps the most. Two of the
    k-means groups whose union the eigengap reads as one strategy are then merged (k-means
    splits a strategy in two when its samples vary along the graph's manifold: measured on
    planted marks, README "Strategies")."""
    if len(points) < 3:
        return _one(len(points))
    values, vectors = np.linalg.eigh(_laplacian(points, neighbours))
    k = _eigengap(values, max_strategies)
    embedding = _row_normalised(vectors[:, : max(k, 3)])
    labels = np.zeros(len(points), int)
    if k > 1:
        chosen = _row_normalised(vectors[:, :k])
        labels = KMeans(k, n_init=10, random_state=seed).fit_predict(chosen)
        labels = _merged(points, labels, neighbours, max_strategies)
    labels = _by_size(labels)
    most = min(max_strategies, len(points) - 1)
    return Strategies(labels, int(labels.max()) + 1, values[: most + 1], embedding[:, 1:3])


def _one(n: int) -> Strategies:
    return Strategies(np.zeros(n, int), 1, np.zeros(min(n, 1)), np.zeros((n, 2)))


def _eigengap(values: np.ndarray, max_strategies: int) -> int:
    """The k (1 … ``max_strategies``) whose next eigenvalue jumps the most."""
    most = min(max_strategies, len(values) - 1)
    return int(np.argmax(np.diff(values[: most + 1]))) + 1


def _merged(
    points: np.ndarray, labels: np.ndarray, neighbours: int, max_strategies: int
) -> np.ndarray:
    """``labels`` with every pair of groups whose union's own graph the eigengap reads as one
    strategy merged, one pair at a time, until no pair is."""
    labels = labels.copy()
    while True:
        groups = sorted(set(labels.tolist()))
        pair = next(
            (
                (a, b)
                for i, a in enumerate(groups)
                for b in groups[i + 1 :]
                if _one_strategy(points[np.isin(labels, [a, b])], neighbours, max_strategies)
            ),
            None,
        )
        if pair is None:
            return labels
        labels[labels == pair[1]] = pair[0]


def _one_strategy(points: np.ndarray, neighbours: int, max_strategies: int) -> bool:
    if len(points) < 4:
        return True
    values = np.linalg.eigvalsh(_laplacian(points, neighbours))
    return _eigengap(values, max_strategies) == 1


def hdbscan_strategies(
    points: np.ndarray, *, max_strategies: int = 8, neighbours: int = 10, min_size: int = 5
) -> Strategies:
    """Strategies by HDBSCAN on the first ``max_strategies`` eigenvectors (the spectral
    embedding SpRAy clusters): their number is HDBSCAN's, maps it leaves out get -1."""
    import hdbscan

    if len(points) < max(3, min_size):
        return _one(len(points))
    values, vectors = np.linalg.eigh(_laplacian(points, neighbours))
    most = min(max_strategies, len(points) - 1)
    embedding = _row_normalised(vectors[:, : max(most, 3)])
    labels = hdbscan.HDBSCAN(min_cluster_size=min_size).fit_predict(embedding)
    k = int(labels.max()) + 1
    if k == 0:
        labels = np.zeros(len(points), int)
        k = 1
    return Strategies(_by_size(labels), k, values[: most + 1], embedding[:, 1:3])


def _row_normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0, 1, … from the largest strategy down (-1 kept)."""
    kept = labels[labels >= 0]
    if not len(kept):
        return labels
    sizes = np.bincount(kept)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return np.where(labels >= 0, rank[np.maximum(labels, 0)], -1)


def region_shares(maps: np.ndarray) -> np.ndarray:
    """float64[n, 3, 3]: the share of each map's positive attribution in each cell of a 3 × 3
    grid of the image (zeros for a map with none)."""
    positive = np.clip(maps, 0, None)
    h, w = maps.shape[1:3]
    r, c = (np.arange(4) * h) // 3, (np.arange(4) * w) // 3
    cells = np.stack(
        [
            np.stack(
                [positive[:, r[i] : r[i + 1], c[j] : c[j + 1]].sum((1, 2)) for j in range(3)], 1
            )
            for i in range(3)
        ],
        1,
    ).astype(np.float64)
    total = cells.sum((1, 2), keepdims=True)
    return np.divide(cells, total, out=np.zeros_like(cells), where=total > 0)


def attended_region(inside: np.ndarray, outside: np.ndarray) -> tuple[str, float, float]:
    """Where one strategy attends: the cell whose share of positive attribution its maps
    (``inside``, per-map shares from :func:`region_shares`) exceed the class's other maps
    (``outside``) by the most, with the two mean shares there. With no other maps: the cell of
    its largest share."""
    mine = inside.mean(0)
    theirs = outside.mean(0) if len(outside) else np.zeros_like(mine)
    row, col = np.unravel_index(np.argmax(mine - theirs), mine.shape)
    return REGIONS[row][col], float(mine[row, col]), float(theirs[row, col])


def _codes(values: np.ndarray) -> np.ndarray:
    return np.unique(values, return_inverse=True)[1].ravel()


def _mutual_information(a: np.ndarray, b: np.ndarray, n_b: int) -> np.ndarray:
    """Mutual information (nats) of each row of ``a`` (codes, [p, n]) with ``b`` (codes, [n])."""
    n = a.shape[1]
    n_a = int(a.max()) + 1
    joint = np.zeros((a.shape[0], n_a * n_b))
    codes = a * n_b + b[None]
    np.add.at(joint, (np.arange(a.shape[0])[:, None], codes), 1.0)
    joint = joint.reshape(a.shape[0], n_a, n_b) / n
    pa, pb = joint.sum(2, keepdims=True), joint.sum(1, keepdims=True)
    ratio = np.divide(joint, pa * pb, out=np.ones_like(joint), where=joint > 0)
    return (joint * np.log(ratio)).sum((1, 2))


def _entropy(codes: np.ndarray) -> float:
    p = np.bincount(codes) / len(codes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def path_agreement(
    strategies: np.ndarray, paths: np.ndarray, *, permutations: int = 999, seed: int = 0
) -> dict[str, float]:
    """How far one class's strategies and its samples' paths agree: ``ari``, ``nmi``
    (arithmetic normalisation, as scikit-learn's default) and ``nmi_p_value``, the share of
    ``permutations`` random reassignments of the strategies (sizes kept) whose NMI reaches the
    observed one, counting the observed (a p-value ≥ 1 / (permutations + 1); NaN with none)."""
    s, p = _codes(strategies), _codes(paths)
    norm = (_entropy(s) + _entropy(p)) / 2
    if norm == 0:  # one strategy or one path: nothing to agree on
        return {"ari": float("nan"), "nmi": float("nan"), "nmi_p_value": float("nan")}
    n_p = int(p.max()) + 1
    observed = float(_mutual_information(s[None], p, n_p)[0]) / norm
    p_value = float("nan")
    if permutations > 0:
        rng = np.random.default_rng(seed)
        shuffled = np.stack([rng.permutation(s) for _ in range(permutations)])
        null = _mutual_information(shuffled, p, n_p) / norm
        p_value = float((1 + np.sum(null >= observed - 1e-12)) / (permutations + 1))
    return {
        "ari": float(adjusted_rand_score(s, p)),
        "nmi": min(observed, 1.0),
        "nmi_p_value": p_value,
    }
