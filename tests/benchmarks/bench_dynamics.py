"""What training snapshots cost: the default experiment cold with and without snapshots, and the
dynamics step's peak memory at 2 and at 8 snapshots.

Time: ``pipelines/default.toml`` as shipped and the same with ``training.snapshots = [0, 1, 2,
4, 8]``, each from an empty store (the digits already cached), run through the CLI one after
the other, ``--repeats`` times; target: with / without ≤ 1.3.

Memory: the dynamics step of LeNet-5 alone (its train step done beforehand), in a fresh process
whose peak RSS is read from the kernel (getrusage of the child), at snapshots [0, 8] and at
[0, 1, 2, 3, 4, 5, 6, 8]; target: the ratio stays near 1 (one snapshot's activations in memory at
a time).

Each measurement checks that it measured the real thing: the dynamics step's tables hold every
snapshot, model and layer, for ``analysis.dynamics_samples`` samples.

Run: python tests/benchmarks/bench_dynamics.py [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from _common import REPO, median, pathways_command, run_loudly

DEFAULT = (REPO / "pipelines" / "default.toml").read_text()


def with_snapshots(epochs: list[int]) -> str:
    if "\n[training]\n" not in DEFAULT:
        raise SystemExit("pipelines/default.toml has no [training] section to add snapshots to")
    return DEFAULT.replace("\n[training]\n", f"\n[training]\nsnapshots = {epochs}\n", 1)


def _env(cwd: Path) -> dict[str, str]:
    return {**os.environ, "PATHWAYS_STORE": str(cwd / "store"), "PATHWAYS_DATA": str(cwd / "data")}


def pathways(*args: str, cwd: Path) -> float:
    start = time.perf_counter()
    run_loudly(pathways_command(*args), cwd=cwd, env=_env(cwd))
    return time.perf_counter() - start


def check_dynamics(run: Path, epochs: list[int], models: list[str]) -> int:
    """Rows measured; fails loudly unless every model has every snapshot."""
    samples = 0
    for model in models:
        layers = pd.read_parquet(run / "dynamics" / model / "layers.parquet")
        if sorted(layers["epoch"].unique()) != epochs:
            raise SystemExit(f"dynamics/{model}: epochs {sorted(layers['epoch'].unique())}")
        samples = len(pd.read_parquet(run / "dynamics" / model / "samples.parquet"))
        if samples < 100:
            raise SystemExit(f"dynamics/{model}: only {samples} samples measured")
    return samples


def peak_rss_mb(*args: str, cwd: Path) -> float:
    """Peak RSS of one fresh ``pathways`` process (the largest child so far: run the larger
    case last, or in its own interpreter)."""
    script = (
        "import resource, subprocess, sys, os\n"
        "subprocess.run([sys.executable, '-m', 'pathways.cli.main', *sys.argv[1:]], check=True,"
        " capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = run_loudly([sys.executable, "-c", script, *args], cwd=cwd, env=_env(cwd))
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    snapshots = [0, 1, 2, 4, 8]
    (work / "plain.toml").write_text(DEFAULT)
    (work / "snapshots.toml").write_text(with_snapshots(snapshots))
    pathways("run", "plain.toml", "--only", "data", cwd=work)  # the digits, cached once
    times: dict[str, list[float]] = {"without snapshots": [], "with snapshots": []}
    for _ in range(args.repeats):
        for name, config in (
            ("without snapshots", "plain.toml"),
            ("with snapshots", "snapshots.toml"),
        ):
            shutil.rmtree(work / "store", ignore_errors=True)
            pathways("run", config, "--only", "data", cwd=work)  # data step from the cache
            times[name].append(pathways("run", config, cwd=work))
        measured = check_dynamics(work / "store" / "default", snapshots, ["mlp", "lenet5"])
    plain, with_ = median(times["without snapshots"]), median(times["with snapshots"])
    print(f"default experiment, empty store, digits cached; median of {args.repeats} run(s) each")
    print(f"without snapshots   {plain:6.1f} s")
    print(
        f"with {snapshots}  {with_:6.1f} s   ({measured} samples × {len(snapshots)} snapshots × 2 models)"
    )
    print(f"ratio with / without {with_ / plain:.2f}   target ≤ 1.30")

    peaks = {}
    for epochs in ([0, 8], [0, 1, 2, 3, 4, 5, 6, 8]):
        shutil.rmtree(work / "store", ignore_errors=True)
        config = f"s{len(epochs)}.toml"
        (work / config).write_text(with_snapshots(epochs))
        pathways("run", config, "--only", "train/lenet5", cwd=work)
        peaks[len(epochs)] = peak_rss_mb("run", config, "--only", "dynamics/lenet5", cwd=work)
        check_dynamics(work / "store" / "default", epochs, ["lenet5"])
    print(f"dynamics/lenet5 peak RSS: 2 snapshots {peaks[2]:.0f} MB, 8 snapshots {peaks[8]:.0f} MB")
    print(f"ratio 8 / 2 snapshots {peaks[8] / peaks[2]:.2f}   target ≈ 1")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
