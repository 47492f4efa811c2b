"""Parquet layouts for activations: a column per unit ("wide") vs a fixed-size list per layer.

Real activations: the default MLP (784-256-128-64-2, seeded initial weights) captured over
70,000 images (Fashion-MNIST from Debian's package when installed). For each layout: time to
build and write the table (zstd), to read it whole with pandas, to read one layer as a matrix,
and the file size.

Run: python tests/benchmarks/bench_parquet_layout.py [--repeats 3] [--samples 70000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch

from pathways.data.subsets import ImageFormat
from pathways.nets.capture import capture_activations
from pathways.nets.inputs import model_inputs
from pathways.nets.models import MLP
from pathways.store.activations import activation_table, layer_matrix

from _common import interleaved, large_images, median

DIGIT = ImageFormat((28, 28))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=70_000)
    args = parser.parse_args()
    images, source = large_images(args.samples)
    torch.manual_seed(0)
    model = MLP([256, 128, 64], 2)
    batches = [
        model_inputs(images[i : i + 4096], "flat", DIGIT) for i in range(0, len(images), 4096)
    ]
    result = capture_activations(model, batches, list(model.hidden_layers), n_samples=len(images))
    n = len(images)
    rng = np.random.default_rng(0)
    samples = pd.DataFrame(
        {
            "sample_id": np.arange(n),
            "source_index": np.arange(n),
            "label": (labels := rng.integers(0, 10, n)),
            "class_name": labels.astype(str),
            "split": pd.Categorical(rng.choice(["train", "test"], n)),
            "seen": rng.random(n) < 0.7,
            "predicted_class": rng.integers(0, 2, n),
            "confidence": rng.random(n).astype(np.float32),
        }
    )
    layers = {name: ("dense", values) for name, values in result.activations.items()}
    outputs = {"logit": ("logits", ["0", "1"], result.outputs)}
    units = sum(v.shape[1] for v in result.activations.values())
    raw_mb = n * units * 4 / 1e6
    folder = Path(tempfile.mkdtemp())
    print(
        f"{n} samples × {units} units from {source} ({raw_mb:.0f} MB as float32), "
        f"{args.repeats} interleaved repetitions, medians"
    )
    candidates = {}
    for layout in ("wide", "list"):
        path = folder / f"{layout}.parquet"

        def write(layout=layout, path=path):
            pq.write_table(
                activation_table(samples, layers, outputs, layout), path, compression="zstd"
            )

        write()
        candidates[f"{layout}:write"] = write
        candidates[f"{layout}:pandas"] = lambda path=path: pd.read_parquet(path)
        candidates[f"{layout}:layer"] = lambda path=path: layer_matrix(path, "fc1")
    times = interleaved(candidates, args.repeats)
    print(
        f"{'layout':6} {'write s':>8} {'MB/s':>6} {'pandas read s':>14} {'fc1 matrix s':>13} {'size MB':>8}"
    )
    base = {}
    for layout in ("wide", "list"):
        w, r, m = (median(times[f"{layout}:{k}"]) for k in ("write", "pandas", "layer"))
        size = (folder / f"{layout}.parquet").stat().st_size / 1e6
        base.setdefault("w", w), base.setdefault("r", r), base.setdefault("s", size)
        print(f"{layout:6} {w:8.2f} {raw_mb / w:6.0f} {r:14.2f} {m:13.3f} {size:8.1f}")
    print(
        "list/wide ratios: write {:.2f}, pandas read {:.2f}, size {:.2f}".format(
            median(times["list:write"]) / base["w"],
            median(times["list:pandas"]) / base["r"],
            (folder / "list.parquet").stat().st_size / 1e6 / base["s"],
        )
    )


if __name__ == "__main__":
    main()
