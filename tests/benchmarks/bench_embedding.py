"""2-D map methods side by side on real 70,000-sample layers: time and faithfulness.

Each candidate maps the same layers of a finished full-size run (`pathways run
pipelines/fashion-full.toml` first): the previous default (UMAP, spectral initialisation,
200 epochs, neighbours searched in every unit), the new default (UMAP on the 50 leading
principal components, PCA initialisation, 100 epochs), PaCMAP and openTSNE (both on the same
50 components). Quality, measured in the standardised layer (every unit) on 5,000 seeded
checked samples: kNN preservation (share of each checked sample's 10 nearest neighbours kept
on the map), trustworthiness (scikit-learn, within another 2,000 seeded samples) and kNN
accuracy (10-NN class vote on the map). One run per method and layer, methods alternating
within a layer; numba compilation is done once before timing (a small fit of each method).

Run: python tests/benchmarks/bench_embedding.py [STORE/fashion-full] [--layers mlp:fc2 ...]
     [--methods umap-previous umap pacmap tsne]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from _common import REPO


def previous_umap(values: np.ndarray, seed: int = 0) -> np.ndarray:
    """The embedding stage's map before version 3 (kept here as the baseline)."""
    import umap
    from sklearn.preprocessing import StandardScaler

    scaled = StandardScaler().fit_transform(np.asarray(values, dtype=np.float32))
    reducer = umap.UMAP(
        n_components=2, n_neighbors=15, min_dist=0.1, n_epochs=200, random_state=seed, n_jobs=1
    )
    return reducer.fit_transform(scaled).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path, nargs="?", default=REPO / "data/store/fashion-full")
    parser.add_argument("--layers", nargs="+", default=["mlp:fc2", "lenet5:fc1"])
    parser.add_argument("--methods", nargs="+", default=["umap-previous", "umap", "pacmap", "tsne"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from sklearn.manifold import trustworthiness
    from sklearn.preprocessing import StandardScaler

    from pathways.analysis.embed import embed_2d
    from pathways.analysis.map_quality import (
        checked_samples,
        neighbour_accuracy,
        neighbour_preservation,
    )
    from pathways.nets.threads import configure_threads
    from pathways.store.reading import load_layer

    configure_threads(1)
    candidates = {
        "umap-previous": previous_umap,
        **{m: (lambda v, m=m: embed_2d(v, method=m)) for m in ("umap", "pacmap", "tsne")},
    }
    rng = np.random.default_rng(0)
    warm = rng.normal(size=(2000, 20)).astype(np.float32)
    for name in args.methods:  # numba compilation, not timed
        candidates[name](warm)
    print(f"{'layer':14} {'method':14} {'seconds':>8} {'kNN kept':>9} {'trust':>7} {'kNN acc':>8}")
    for spec in args.layers:
        model, layer = spec.split(":")
        path = args.run / "capture" / model / "activations.parquet"
        values = load_layer(path, layer).values
        labels = pq.read_table(path, columns=["label"]).column("label").to_numpy()
        if len(values) < 50_000:
            raise SystemExit(f"{path}: {len(values)} samples — this benchmark needs a full run")
        scaled = StandardScaler().fit_transform(values.astype(np.float32))
        queries = checked_samples(len(values), 5000, seed=0)
        trusted = checked_samples(len(values), 2000, seed=1)
        for name in args.methods:
            start = time.perf_counter()
            xy = candidates[name](values)
            seconds = time.perf_counter() - start
            if xy.shape != (len(values), 2) or not np.isfinite(xy).all():
                raise SystemExit(f"{name} on {spec}: map of shape {xy.shape} — not every sample")
            kept = neighbour_preservation(scaled, xy, queries)
            trust = trustworthiness(scaled[trusted], xy[trusted], n_neighbors=10)
            accuracy = neighbour_accuracy(xy, labels, queries)
            print(
                f"{spec:14} {name:14} {seconds:8.1f} {kept:9.3f} {trust:7.3f} {accuracy:8.3f}"
                f"   ({len(xy):,} points × {values.shape[1]} units)",
                flush=True,
            )


if __name__ == "__main__":
    main()
