"""2-D embeddings of a layer for the explorer: UMAP, seeded and reproducible."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler


def embed_2d(values: np.ndarray, seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """float32[n_samples, 2]: UMAP of the standardised layer (PCA when there are too few samples).

    UMAP runs single-threaded with ``random_state=seed``, so the same input gives the same map.
    """
    scaled = StandardScaler().fit_transform(np.asarray(values, dtype=np.float32))
    if len(scaled) <= n_neighbors + 1 or scaled.shape[1] < 3:
        n = min(2, scaled.shape[1])
        out = (
            PCA(n_components=n, random_state=seed).fit_transform(scaled)
            if n
            else np.zeros((len(scaled), 0))
        )
        return np.pad(out, ((0, 0), (0, 2 - out.shape[1]))).astype(np.float32)
    import umap

    reducer = umap.UMAP(
        n_components=2, n_neighbors=n_neighbors, min_dist=0.1, random_state=seed, n_jobs=1
    )
    return reducer.fit_transform(scaled).astype(np.float32)
