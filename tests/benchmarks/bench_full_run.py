"""The full 70,000-image experiment (pipelines/fashion-full.toml): previous version vs now.

Three runs, one after the other, each from an empty store in a fresh process (the input-data
cache is filled once beforehand, so no run pays for reading the IDX files first): the previous
version's code (a git worktree of ``--base``, run with this environment), this version with
the local executor, and this version with ``--executor dask`` (LocalCluster, 2 workers). Every
step runs: MLP and LeNet-5 trained on trouser vs sneaker, all 70,000 images captured,
clustered, mapped, scored, explained. Prints each step's seconds (from its manifest) side by
side, the total wall time of each run and the ratios. numba's compiled code is cached in the
environment by earlier runs; a first run in a new environment compiles for about a minute more.
Needs Debian's dataset-fashion-mnist. Takes about 15 minutes on 2 cores.

Run: python tests/benchmarks/bench_full_run.py [--base REV] [--workers 2] [--no-dask]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import FASHION_MNIST, REPO, pathways_command, run_loudly, step_seconds, worktree

BASE = "1ff56e4"  # the last commit before the full-size speed-up (issue 18)


def _run(code: Path, store: Path, env: dict[str, str], *extra: str) -> float:
    start = time.perf_counter()
    config = str(code / "pipelines/fashion-full.toml")  # each version its own config
    command = pathways_command("run", config, "--store", str(store), *extra)
    run_loudly(command, cwd=code, env={**env, "PYTHONPATH": str(code)})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default=BASE, help="the previous version (a git revision)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-dask", action="store_true", help="leave out the dask run")
    args = parser.parse_args()
    if not FASHION_MNIST.is_dir():
        raise SystemExit(
            "needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"
        )
    work = Path(tempfile.mkdtemp())
    env = {**os.environ, "PATHWAYS_DATA": str(work / "data"), "OMP_WAIT_POLICY": "PASSIVE"}
    with worktree(args.base) as previous:
        _run(REPO, work / "warm", env, "--only", "data")  # fills the input-data cache
        runs = {
            f"previous ({args.base})": (previous, []),
            "now, local": (REPO, ["--workers", str(args.workers)]),
            "now, dask": (REPO, ["--executor", "dask", "--workers", str(args.workers)]),
        }
        if args.no_dask:
            del runs["now, dask"]
        wall, steps = {}, {}
        for i, (name, (code, extra)) in enumerate(runs.items()):
            store = work / f"store{i}"
            wall[name] = _run(code, store, env, *extra)
            steps[name] = step_seconds(store / "fashion-full")
            if len(steps[name]) < 20:
                raise SystemExit(f"{name}: only {len(steps[name])} steps ran — not the full run")
            print(f"{name:22} {wall[name]:7.1f} s", flush=True)
    names = list(runs)
    order = sorted(steps[names[0]], key=lambda s: -steps[names[0]][s])
    print(f"\n{'step':22}" + "".join(f"{n:>24}" for n in names))
    for step in order + sorted(set(steps[names[1]]) - set(order)):
        print(f"{step:22}" + "".join(f"{steps[n].get(step, float('nan')):24.1f}" for n in names))
    stages: dict[str, dict[str, float]] = {}
    for name in names:
        for step, seconds in steps[name].items():
            stage = stages.setdefault(step.split("/")[0], {})
            stage[name] = stage.get(name, 0.0) + seconds
    print(f"\n{'stage (sum of steps)':22}" + "".join(f"{n:>24}" for n in names))
    for stage, by_run in sorted(stages.items(), key=lambda kv: -kv[1].get(names[0], 0.0)):
        print(f"{stage:22}" + "".join(f"{by_run.get(n, float('nan')):24.1f}" for n in names))
    print(f"{'wall time':22}" + "".join(f"{wall[n]:24.1f}" for n in names))
    before, local = wall[names[0]], wall[names[1]]
    dask = f"   local / dask: {local / wall[names[2]]:.2f}×" if len(names) > 2 else ""
    print(f"\nprevious / now (local): {before / local:.2f}×{dask}   (one run each)")


if __name__ == "__main__":
    main()
