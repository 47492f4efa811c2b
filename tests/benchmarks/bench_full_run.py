"""The full 70,000-image experiment (pipelines/fashion-full.toml): previous version vs now,
against a same-run UMAP reference.

Runs, one after the other, each from an empty store in a fresh process (the input-data cache
is filled once beforehand, so no run pays for reading the IDX files first): the previous
version's code (a git worktree of ``--base``, run with this environment), this version with
local worker processes, and (unless ``--no-dask``) this version with ``--executor dask``.
Every step runs: MLP and LeNet-5 trained on trouser vs sneaker, all 70,000 images captured,
clustered, mapped, scored, explained. While a run goes on, the benchmark watches its store and
notes when the report's manifest appears: the time to the first answers.

The reference: one 2-D UMAP (umap-learn's defaults, seeded) of a 70,000 × 64 matrix — the
MLP's last hidden layer from this benchmark's own run — in a fresh process, so it pays numba's
compilation as a user's first map does. Prints each step's seconds (from its manifests) side
by side, each run's wall time and time to the report, and both as ratios to the reference.
Needs Debian's dataset-fashion-mnist. Takes about 10 minutes on 2 cores.

Run: python tests/benchmarks/bench_full_run.py [--base REV] [--workers 2] [--no-dask]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _common import (
    FASHION_MNIST,
    REPO,
    pathways_command,
    run_loudly,
    run_watched,
    stage_totals,
    step_seconds,
    worktree,
)

BASE = "8aa0e8e"  # the last commit before the answers-first run (issue 29)
REFERENCE = """
import sys, time, warnings
import umap
from pathways.store.reading import load_layer
values = load_layer(sys.argv[1], "fc3").values
assert values.shape == (70_000, 64), values.shape
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    xy = umap.UMAP(n_components=2, random_state=0).fit_transform(values)
assert xy.shape == (70_000, 2)
print(time.perf_counter() - start)
"""


def _run(code: Path, store: Path, env: dict[str, str], *extra: str) -> tuple[float, float]:
    """Wall seconds of the run, and seconds until its report was in the store."""
    config = str(code / "pipelines/fashion-full.toml")  # each version its own config
    command = pathways_command("run", config, "--store", str(store), *extra)
    report = store / "fashion-full" / "report" / "manifest.json"
    watched = run_watched(command, cwd=code, env={**env, "PYTHONPATH": str(code)}, report=report)
    return watched["wall"], watched["report"]


def _reference(store: Path, env: dict[str, str]) -> float:
    activations = store / "fashion-full" / "capture" / "mlp" / "activations.parquet"
    done = run_loudly(
        [sys.executable, "-c", REFERENCE, str(activations)],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
    )
    return float(done.stdout.strip().splitlines()[-1])


def _table(names: list[str], steps: dict[str, dict[str, float]]) -> None:
    order = sorted(steps[names[-1]], key=lambda s: -steps[names[-1]][s])
    totals = {name: stage_totals(steps[name]) for name in names}
    stages = {
        stage: {name: totals[name][stage] for name in names if stage in totals[name]}
        for stage in dict.fromkeys(s for name in names for s in totals[name])
    }
    print(f"\n{'step':22}" + "".join(f"{n:>24}" for n in names))
    for step in order + sorted(set(steps[names[0]]) - set(order)):
        print(f"{step:22}" + "".join(f"{steps[n].get(step, float('nan')):24.1f}" for n in names))
    print(f"\n{'stage (sum of steps)':22}" + "".join(f"{n:>24}" for n in names))
    for stage, by_run in sorted(stages.items(), key=lambda kv: -kv[1].get(names[-1], 0.0)):
        print(f"{stage:22}" + "".join(f"{by_run.get(n, float('nan')):24.1f}" for n in names))


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
    workers = ["--workers", str(args.workers)]
    with worktree(args.base) as previous:
        _run(REPO, work / "warm", env, "--only", "data")  # fills the input-data cache
        runs = {
            f"previous ({args.base})": (previous, workers),
            "now, local": (REPO, workers),
            "now, dask": (REPO, ["--executor", "dask", *workers]),
        }
        if args.no_dask:
            del runs["now, dask"]
        wall, report, steps = {}, {}, {}
        for i, (name, (code, extra)) in enumerate(runs.items()):
            store = work / f"store{i}"
            wall[name], report[name] = _run(code, store, env, *extra)
            steps[name] = step_seconds(store / "fashion-full")
            if len(steps[name]) < 20:
                raise SystemExit(f"{name}: only {len(steps[name])} steps ran — not the full run")
            print(f"{name:22} {wall[name]:7.1f} s, report at {report[name]:6.1f} s", flush=True)
        reference = _reference(work / "store1", env)
    names = list(runs)
    _table(names, steps)
    print(f"\nreference: one UMAP of 70,000 × 64 in a fresh process: {reference:.1f} s")
    print(f"{'':22}{'wall':>10}{'/ ref':>8}{'report at':>12}{'/ ref':>8}")
    for name in names:
        print(
            f"{name:22}{wall[name]:10.1f}{wall[name] / reference:8.2f}"
            f"{report[name]:12.1f}{report[name] / reference:8.2f}"
        )
    print(f"previous / now (local): {wall[names[0]] / wall[names[1]]:.2f}×   (one run each)")


if __name__ == "__main__":
    main()
