"""Clustering one layer: ours (standardise → PCA 10 → HDBSCAN) vs HDBSCAN on the raw activations.

Activations: the 256-unit hidden layer of an MLP (784-256-10) trained for one epoch on
Fashion-MNIST's 60,000 training images, captured for all 70,000 images (Debian's
dataset-fashion-mnist; without it the embedded MNIST digits are tiled, which makes ARI
meaningless). Both sides use the same HDBSCAN settings (min_cluster_size = 2 % of n,
min_samples = 5) on the same rows in one process. ARI is against the true labels; for ours on
the final assignment (noise → nearest exemplar) and on HDBSCAN's own labels (noise = one more
label), for raw on HDBSCAN's labels. No numba compilation is involved (hdbscan is compiled
Cython, PCA is LAPACK).

Run: python tests/benchmarks/bench_cluster.py [--samples 70000] [--raw-samples 70000]
"""

from __future__ import annotations

import argparse
import time

import hdbscan
import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score

from pathways.analysis.cluster import LayerClusterer, auto_min_cluster_size
from pathways.data.subsets import ImageFormat
from pathways.nets.capture import capture_activations
from pathways.nets.inputs import model_inputs
from pathways.nets.models import MLP
from pathways.nets.training import seeded, train_classifier

from _common import FASHION_MNIST, large_images, mnist_images

DIGIT = ImageFormat((28, 28))


def activations(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    if FASHION_MNIST.is_dir():
        from pathways.data.idx import load_idx_folder

        digits = load_idx_folder(FASHION_MNIST)
        images, labels, source = digits.images[:n], digits.labels[:n], "Fashion-MNIST"
    else:
        images, source = large_images(n)
        labels = np.resize(mnist_images()[1], n)
    x = model_inputs(images, "flat", DIGIT)
    y = torch.from_numpy(labels.astype(np.int64))
    with seeded(0):
        model = MLP([256], 10)
    train = slice(0, min(60_000, n))
    train_classifier(
        model,
        x[train],
        y[train],
        x[:1000],
        y[:1000],
        classes=list(range(10)),
        epochs=1,
        batch_size=256,
        learning_rate=1e-3,
        seed=0,
    )
    result = capture_activations(
        model, [x[i : i + 4096] for i in range(0, n, 4096)], ["fc1"], n_samples=n
    )
    return result.activations["fc1"], labels, source


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=70_000)
    parser.add_argument(
        "--raw-samples", type=int, default=70_000, help="rows for raw HDBSCAN (slow)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    values, labels, source = activations(args.samples)
    print(
        f"{source}: {values.shape[0]} × {values.shape[1]} activations (fc1 of an MLP trained 1 epoch)"
    )
    print(f"{'method':34} {'rows':>6} {'seconds':>8} {'clusters':>8} {'noise':>6} {'ARI':>6}")
    rows = {}
    for n in sorted({min(args.raw_samples, args.samples), args.samples}):
        v, y = values[:n], labels[:n]
        start = time.perf_counter()
        ours = LayerClusterer(min_samples=5).fit(v)
        t_ours = time.perf_counter() - start
        raw_hdb = np.array([ours.relabel_.get(int(r), -1) for r in ours.model_.labels_])
        print(
            f"{'ours: scale → PCA 10 → HDBSCAN':34} {n:6d} {t_ours:8.1f} {ours.n_clusters_:8d} "
            f"{ours.outliers_.mean():6.2f} {adjusted_rand_score(y, ours.labels_):6.3f}"
        )
        print(
            f"{'  (HDBSCAN labels, noise kept)':34} {n:6d} {'':8} {'':8} {'':6} {adjusted_rand_score(y, raw_hdb):6.3f}"
        )
        rows[n] = t_ours
        if n == min(args.raw_samples, args.samples):
            start = time.perf_counter()
            raw = hdbscan.HDBSCAN(min_cluster_size=auto_min_cluster_size(n), min_samples=5).fit(v)
            t_raw = time.perf_counter() - start
            print(
                f"{'HDBSCAN on raw activations':34} {n:6d} {t_raw:8.1f} {raw.labels_.max() + 1:8d} "
                f"{(raw.labels_ < 0).mean():6.2f} {adjusted_rand_score(y, raw.labels_):6.3f}"
            )
            print(f"speed-up at {n} rows: {t_raw / t_ours:.1f}×")
    print(f"ours at {args.samples} rows: {rows[args.samples]:.1f} s (target ≤ 30 s)")


if __name__ == "__main__":
    main()
