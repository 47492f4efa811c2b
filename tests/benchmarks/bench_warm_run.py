"""A cached re-run and a plan, this checkout against an earlier commit, side by side.

A warm ``pathways run`` (every step cached) is what users wait for most often: imports, the
plan, every step's cache check and the run record. Both versions first run the default
experiment cold into their own store (same data folder), then warm runs and ``pathways stages``
alternate between them. Each warm run must report every step cached, or the script fails.

Run: python tests/benchmarks/bench_warm_run.py [--base REV] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import REPO, median, pathways_command, run_loudly, worktree


def pathways(root: Path, *args: str, cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(root), "PATHWAYS_DATA": str(cwd / "data")}
    start = time.perf_counter()
    result = run_loudly(pathways_command(*args), cwd=cwd, env=env)
    return time.perf_counter() - start, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="HEAD~1", help="the earlier commit (default HEAD~1)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    with worktree(args.base) as base:
        versions = {"base": base, "this": REPO}
        for name, root in versions.items():
            pathways(root, "run", "--store", str(work / f"store-{name}"), cwd=work)
        times: dict[str, dict[str, list[float]]] = {n: {"warm": [], "stages": []} for n in versions}
        for _ in range(args.repeats):
            for name, root in versions.items():
                store = str(work / f"store-{name}")
                seconds, out = pathways(root, "run", "--store", store, cwd=work)
                if " ran " in out or out.count("cached") < 30:
                    raise SystemExit(f"{name}: a warm run ran steps or listed too few:\n{out}")
                times[name]["warm"].append(seconds)
                times[name]["stages"].append(
                    pathways(root, "stages", "--store", store, cwd=work)[0]
                )
        print(f"default experiment, {args.repeats} alternating repeats, median seconds")
        for what in ("warm", "stages"):
            old, new = median(times["base"][what]), median(times["this"][what])
            print(
                f"{what:7} base ({args.base}) {old:5.2f}   this {new:5.2f}   this/base {new / old:.2f}"
            )


if __name__ == "__main__":
    main()
