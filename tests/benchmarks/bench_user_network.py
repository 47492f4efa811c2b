"""A real-size user network, cold: a residual CNN named by factory with 16 activation calls, on
12,000 RGB 32 × 32 images in an ``.npz``, 6 trained and 4 unseen classes.

The images: Fashion-MNIST (Debian's dataset-fashion-mnist), ``--per-class`` seeded images of
each of the 10 classes, padded to 32 × 32 and tinted by a random colour each (the colour says
nothing of the class). The network: ``pathways.nets.residual:ResidualCNN`` with ``blocks =
[2, 2, 3]`` (stem, 7 residual blocks over 3 stages, a dense head: 16 ReLU calls, every one an
analysis layer), named by ``type = "torch"``, ``factory = …`` exactly as a user's module. Every
other setting is the default but 2 epochs and one training seed (the stability stage repeats
the clustering and divergence steps' work once per extra seed: its cost is theirs × seeds).

Runs the experiment from an empty store with ``pathways run --workers 2`` at the full size and
at half of it (``--per-class`` / 2), watching the process tree's memory (the sum of every
process's resident memory, sampled every 0.1 s). Prints per stage the seconds (sum of its
steps) at both sizes and their ratio (2.0 = linear in the samples), the wall time, the time to
the report, the peak memory and the store's size, and fails if a step is missing.

Run: python tests/benchmarks/bench_user_network.py [--per-class 1200] [--one-size]
(``--one-size``: the full size only; the half-size columns then repeat it)
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from _common import (
    FASHION_MNIST,
    REPO,
    pathways_command,
    run_watched,
    stage_totals,
    step_seconds,
)

TRAINED, UNSEEN = [0, 1, 2, 3, 4, 5], [6, 7, 8, 9]
EXPERIMENT = """
name = "resnet16"
trained_classes = {trained}
unseen_classes = {unseen}

[data]
source = "npz"
path = "{data}"
normalize = "trained"

[[models]]
name = "resnet"
type = "torch"
factory = "pathways.nets.residual:ResidualCNN"
arguments = {{ n_classes = 6, blocks = [2, 2, 3] }}

[training]
epochs = 2

[analysis]
stability_seeds = 1  # the stability stage repeats clustering and divergence once per extra seed
"""


def make_images(path: Path, per_class: int, seed: int = 0) -> int:
    """The benchmark's ``.npz``: 32 × 32 RGB, ``per_class`` images of each class."""
    from pathways.data.idx import load_idx_folder

    digits = load_idx_folder(FASHION_MNIST, "fashion-mnist")
    rng = np.random.default_rng(seed)
    chosen = np.concatenate(
        [
            rng.choice(np.flatnonzero(digits.labels == c), per_class, replace=False)
            for c in range(10)
        ]
    )
    padded = np.pad(digits.images[chosen], ((0, 0), (2, 2), (2, 2)))
    tint = rng.uniform(0.35, 1.0, (len(chosen), 1, 1, 3))
    images = (padded[..., None].astype(np.float64) * tint).round().astype(np.uint8)
    assert images.shape[1:] == (32, 32, 3)
    np.savez(path, images=images, labels=digits.labels[chosen])
    return len(images)


def run_cold(folder: Path, per_class: int) -> dict:
    """One cold run at ``per_class`` images per class: seconds, steps, memory, store size."""
    folder.mkdir(parents=True)
    samples = make_images(folder / "rgb32.npz", per_class)
    config = folder / "resnet16.toml"
    config.write_text(EXPERIMENT.format(trained=TRAINED, unseen=UNSEEN, data="rgb32.npz"))
    store = folder / "store"
    env = {
        **os.environ,
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONPATH": str(REPO),
        "PATHWAYS_DATA": str(folder / "data"),
    }
    command = pathways_command("run", str(config), "--store", str(store), "--workers", "2")
    report = store / "resnet16" / "report" / "manifest.json"
    watched = run_watched(command, cwd=folder, env=env, report=report)
    steps = step_seconds(store / "resnet16")
    if not {"report", "embedding/resnet", "novelty/resnet", "explain/resnet"} <= set(steps):
        raise SystemExit(f"steps missing from the run: {sorted(steps)}")
    size = sum(f.stat().st_size for f in (store / "resnet16").rglob("*") if f.is_file())
    return {
        "samples": samples,
        **watched,
        "store": size,
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=1200)
    parser.add_argument(
        "--one-size", action="store_true", help="only the full size (no half-size run)"
    )
    args = parser.parse_args()
    if not FASHION_MNIST.is_dir():
        raise SystemExit("needs Debian's dataset-fashion-mnist")
    work = Path(tempfile.mkdtemp())
    full = run_cold(work / "full", args.per_class)
    half = full if args.one_size else run_cold(work / "half", args.per_class // 2)
    a, b = stage_totals(half["steps"]), stage_totals(full["steps"])
    print(
        f"\n{'stage (sum of steps, s)':26}{half['samples']:>10,}{full['samples']:>10,}{'ratio':>8}"
    )
    for stage in sorted(b, key=lambda s: -b[s]):
        print(
            f"{stage:26}{a.get(stage, float('nan')):10.1f}{b[stage]:10.1f}"
            f"{b[stage] / max(a.get(stage, float('nan')), 1e-9):8.2f}"
        )
    for name, key, unit in [
        ("wall time", "wall", 1.0),
        ("time to the report", "report", 1.0),
        ("peak memory, all processes (GiB)", "peak", 2.0**30),
        ("store size (MiB)", "store", 2.0**20),
    ]:
        print(f"{name:34}{half[key] / unit:10.2f}{full[key] / unit:10.2f}")
    steps = full["steps"]
    print("\nslowest steps at full size:")
    for step in sorted(steps, key=lambda s: -steps[s])[:8]:
        print(f"  {step:28}{steps[step]:8.1f} s")


if __name__ == "__main__":
    main()
