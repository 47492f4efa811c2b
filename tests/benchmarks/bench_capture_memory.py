"""Peak memory of capture with full LeNet-5 feature maps, at 10k, 35k and 70k samples.

Real data: Fashion-MNIST from Debian's dataset-fashion-mnist (70,000 images). For each size an
experiment trains LeNet-5 on classes 1 and 7 for one epoch (the other 8 classes are "unseen",
so that every image is captured), then capture runs in a fresh process whose peak RSS is read
from the kernel (getrusage of the child). Side by side, the obvious alternative in its own fresh
process: capture everything in memory (``capture_activations``) and build the same tables before
writing them.

Run: python tests/benchmarks/bench_capture_memory.py [--sizes 10000 35000 70000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import FASHION_MNIST, REPO

EXPERIMENT = """
name = "mem{n}"
trained_classes = [1, 7]
unseen_classes = [0, 2, 3, 4, 5, 6, 8, 9]
[data]
source = "fashion-mnist"
{limit}
[[models]]
name = "lenet5"
type = "lenet5"
[training]
epochs = 1
[capture]
feature_maps = true
[analysis]
stability_seeds = 1
"""

IN_MEMORY = """
import sys, numpy as np, torch
from pathlib import Path
from pathways.engine.artifacts import Artifact
from pathways.data.subsets import ImageFormat
from pathways.nets.trained import load_trained_model
from pathways.nets.inputs import input_batches
from pathways.stages.capture import _batch_tables
from pathways.nets.capture import capture_activations, channel_stats_and_maps, keep_output
import pyarrow.parquet as pq
run = Path(sys.argv[1])
train, data = Artifact(run / "train/lenet5"), Artifact(run / "data")
d = train["model"]
model = load_trained_model(d, train["weights.pt"])
samples = data["samples"]
images = np.stack(samples["image"].to_numpy()).reshape(-1, 28, 28)  # the whole table in pandas
reducers = {n: keep_output if k == "dense" else channel_stats_and_maps for n, k in d["hidden_layers"].items()}
result = capture_activations(model, input_batches(images, d["input_kind"], ImageFormat.from_json(d["image"]), 512, torch.device("cpu")), reducers, n_samples=len(images))
tables = _batch_tables(samples.drop(columns=["image"]), result.activations, result.outputs, d, "wide")
for name, table in tables.items():
    pq.write_table(table, run / f"in-memory-{name}.parquet", compression="zstd")
"""


def peak_rss_mib(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of ``command`` run in a fresh child process."""
    probe = (
        "import resource, subprocess, sys, json, time\n"
        "t = time.perf_counter()\n"
        f"r = subprocess.run({command!r})\n"
        "print(json.dumps([r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "time.perf_counter() - t]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    code, kib, seconds = json.loads(out.stdout.strip().splitlines()[-1])
    if code != 0:
        raise SystemExit(f"{command} failed:\n{out.stderr[-2000:]}")
    return kib / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 35_000, 70_000])
    args = parser.parse_args()
    if not FASHION_MNIST.is_dir():
        raise SystemExit(
            "needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"
        )
    work = Path(tempfile.mkdtemp())
    env = {
        **os.environ,
        "PATHWAYS_STORE": str(work / "store"),
        "PATHWAYS_DATA": str(work / "data"),
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    cli = [sys.executable, "-m", "pathways.cli.main"]
    print(
        f"{'samples':>8} {'streaming peak':>15} {'in-memory peak':>15} {'ratio':>6} {'capture time':>13}"
    )
    for n in args.sizes:
        limit = "" if n >= 70_000 else f"samples_per_class = {n // 10}"
        config = work / f"mem{n}.toml"
        config.write_text(EXPERIMENT.format(n=n, limit=limit))
        subprocess.run(
            [*cli, "run", str(config), "--only", "train"], env=env, check=True, capture_output=True
        )
        ours, seconds = peak_rss_mib([*cli, "run", str(config), "--only", "capture"], env)
        run = work / "store" / f"mem{n}"
        alternative, alt_seconds = peak_rss_mib(
            [sys.executable, "-c", IN_MEMORY, str(run)], {**env, "PYTHONPATH": str(REPO)}
        )
        size = sum(p.stat().st_size for p in (run / "capture" / "lenet5").glob("*.parquet"))
        print(
            f"{n:>8} {ours:>11.0f} MiB {alternative:>11.0f} MiB {alternative / ours:>5.1f}× "
            f"{seconds:>8.1f} s (in-memory {alt_seconds:.1f} s); outputs {size / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()
