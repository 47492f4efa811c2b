"""What the strategies stage costs the default experiment: its steps' seconds against the cold
run's wall time (target ≤ 20 %), and the cold run against the previous version's (``--base``,
the revision before the stage; runs alternate, data cached, same environment).

Run: python tests/benchmarks/bench_strategies.py [--repeats 3] [--base REV]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from bench_end_to_end import pathways

from _common import REPO, median, step_seconds, worktree

TARGET = 0.20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--base", help="also time this git revision's cold run (data cached)")
    args = parser.parse_args()
    config = str(REPO / "pipelines" / "default.toml")
    walls, stage, before = [], [], []
    work = Path(tempfile.mkdtemp())
    pathways("run", config, "--only", "data", cwd=work)  # the digits cached once
    with worktree(args.base) if args.base else contextlib.nullcontext() as previous:
        for _ in range(args.repeats):
            shutil.rmtree(work / "store")
            if previous is not None:
                base_config = str(previous / "pipelines" / "default.toml")
                before.append(pathways("run", base_config, cwd=work, code=previous))
                shutil.rmtree(work / "store")
            walls.append(pathways("run", config, cwd=work))
            steps = step_seconds(work / "store" / "default")
            mine = {k: v for k, v in steps.items() if k.startswith("strategies/")}
            members = sum(
                len(pd.read_parquet(work / "store" / "default" / k / "members.parquet"))
                for k in mine
            )
            if len(mine) != 2 or members != 2 * 2 * 200:
                raise SystemExit(f"strategies ran {sorted(mine)} on {members} maps: not the stage")
            stage.append(sum(mine.values()))
    shutil.rmtree(work)
    wall, cost = median(walls), median(stage)
    print(f"default experiment cold (data cached), median of {args.repeats} runs: {wall:.1f} s")
    print(
        f"strategies steps (mlp + lenet5, 800 maps): {cost:.2f} s = {cost / wall:.1%} of the "
        f"cold run (target ≤ {TARGET:.0%})"
    )
    if before:
        b = median(before)
        print(
            f"cold run now / {args.base} (no strategies): {wall:.1f} / {b:.1f} s = {wall / b:.2f}×"
        )
    if cost / wall > TARGET:
        raise SystemExit("over the target")


if __name__ == "__main__":
    main()
