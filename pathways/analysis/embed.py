"""2-D maps of a layer for the explorer: UMAP (default), PaCMAP or t-SNE, seeded and reproducible.

Every method maps the same input: the layer standardised, then — when it has more than
:data:`INPUT_COMPONENTS` units — its leading principal components. Neighbour searches in 50
dimensions instead of several hundred are what a full-size map can afford, and what openTSNE
and PaCMAP themselves recommend. Which method a run uses is ``analysis.embedding_method``;
the figures behind the default are in the README ("2-D maps") and in
``tests/benchmarks/bench_embedding.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from pathways.errors import PathwaysError

INPUT_COMPONENTS = 50
EXACT_NEIGHBOURS_UP_TO = 4096
LARGE = 10_000
"""From this many samples on, UMAP runs 100 optimisation epochs (200 below)."""
MAPPED_POINTS = 150_000
"""``map_layers = "auto"`` maps the last hidden layers whose maps hold at most this many
points together (samples × layers; at least one layer): every layer of the 5,000-digit
default, the last two of a 70,000-sample run (a UMAP of 70,000 points takes ~15 s)."""


def layers_to_map(hidden: list[str], samples: int, setting: str | int) -> list[str]:
    """The hidden layers a run maps, input side first: every one for ``"all"``, the last
    ``setting`` for a number (0: none), and for ``"auto"`` the last ones within
    :data:`MAPPED_POINTS` (at least one).

    >>> layers_to_map(["fc1", "fc2", "fc3"], 70_000, "auto"), layers_to_map(["fc1"], 10, 0)
    (['fc2', 'fc3'], [])
    """
    if setting == "all":
        count = len(hidden)
    elif setting == "auto":
        count = max(1, MAPPED_POINTS // max(samples, 1))
    else:
        count = int(setting)
    return hidden[max(len(hidden) - count, 0) :] if count > 0 else []


def map_input(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """float32[n, ≤ 50]: the standardised layer, reduced to its 50 leading principal components
    when it is wider."""
    scaled = StandardScaler().fit_transform(np.asarray(values, dtype=np.float32))
    if scaled.shape[1] > INPUT_COMPONENTS and len(scaled) > INPUT_COMPONENTS:
        scaled = PCA(INPUT_COMPONENTS, random_state=seed).fit_transform(scaled)
    return np.ascontiguousarray(scaled, dtype=np.float32)


def _umap(inputs: np.ndarray, seed: int, n_neighbors: int) -> np.ndarray:
    """UMAP with PCA initialisation and 100 epochs above 10,000 samples (200 below).

    Measured on the 70,000-sample layers of the full Fashion-MNIST run against the previous
    settings (spectral initialisation, 200 epochs, neighbours searched in every unit): the same
    neighbour preservation and trustworthiness in a third of the time (README "2-D maps").
    Below 4,096 samples the exact k-nearest-neighbour graph comes from scikit-learn
    (``precomputed_knn``): UMAP's own exact path calls a Python-level metric once per pair.
    """
    from pathways.analysis.compiled import cache_compiled_code

    cache_compiled_code()
    import umap

    knn: tuple = (None, None, None)
    if len(inputs) < EXACT_NEIGHBOURS_UP_TO:
        index = NearestNeighbors(n_neighbors=n_neighbors).fit(inputs)
        distances, indices = index.kneighbors(inputs)  # each point first, as UMAP expects
        knn = (indices, distances.astype(np.float32), None)
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=n_neighbors,
        min_dist=0.1,
        n_epochs=100 if len(inputs) >= LARGE else 200,
        init="pca",
        random_state=seed,
        n_jobs=1,
        precomputed_knn=knn,
    )
    with warnings.catch_warnings():  # "transform will be unavailable": we never transform
        warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
        return reducer.fit_transform(inputs)


def _pacmap(inputs: np.ndarray, seed: int, n_neighbors: int) -> np.ndarray:
    """PaCMAP (Wang et al. 2021) with its own defaults (10 neighbours; ``n_neighbors`` is
    UMAP's setting and not passed on)."""
    pacmap = _optional(PACKAGES["pacmap"], "pacmap")
    reducer = pacmap.PaCMAP(n_components=2, random_state=seed, apply_pca=False, verbose=False)
    return reducer.fit_transform(inputs, init="pca")


def _tsne(inputs: np.ndarray, seed: int, n_neighbors: int) -> np.ndarray:
    """openTSNE's t-SNE (perplexity 30, FFT-accelerated gradients above 10,000 samples)."""
    open_tsne = _optional(PACKAGES["tsne"], "tsne")
    perplexity = min(30.0, max((len(inputs) - 1) / 3.0, 1.0))
    reducer = open_tsne.TSNE(
        n_components=2, perplexity=perplexity, random_state=seed, n_jobs=1, verbose=False
    )
    return np.asarray(reducer.fit(inputs))


METHODS: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "umap": _umap,
    "pacmap": _pacmap,
    "tsne": _tsne,
}
"""``analysis.embedding_method`` → its map; the config accepts exactly these names."""


PACKAGES = {"pacmap": "pacmap", "tsne": "openTSNE"}
"""The optional package (the ``maps`` extra) each method other than UMAP needs."""


def _missing(module: str, method: str) -> PathwaysError:
    return PathwaysError(
        f"analysis.embedding_method = {method!r} needs the {module} package — "
        f'install it with: pip install "pathways[maps]" (or choose "umap")'
    )


def require_method(method: str) -> None:
    """Refuse, before anything runs, a method whose package is not installed."""
    import importlib.util

    module = PACKAGES.get(method)
    if module is not None and importlib.util.find_spec(module) is None:
        raise _missing(module, method)


def _optional(module: str, method: str):  # noqa: ANN202
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise _missing(module, method) from None


def method_used(shape: tuple[int, ...], method: str, n_neighbors: int = 15) -> str:
    """The method that maps a layer of ``shape``: ``method``, or ``"pca"`` when there are too
    few samples for a neighbour graph or fewer than 3 units (a logit layer of two classes)."""
    samples, units = shape[0], shape[1]
    return "pca" if samples <= n_neighbors + 1 or units < 3 else method


def embed_2d(
    values: np.ndarray, seed: int = 0, n_neighbors: int = 15, method: str = "umap"
) -> np.ndarray:
    """float32[n_samples, 2]: the ``method`` map of the layer (PCA when there are too few
    samples or units for a neighbour graph). The same input and seed give the same map."""
    inputs = map_input(values, seed)  # too few samples or units: the standardised layer itself
    if method_used(values.shape, method, n_neighbors) == "pca":
        n = min(2, inputs.shape[1])
        out = PCA(n_components=n, random_state=seed).fit_transform(inputs)
        return np.pad(out, ((0, 0), (0, 2 - out.shape[1]))).astype(np.float32)
    return np.asarray(METHODS[method](inputs, seed, n_neighbors), dtype=np.float32)
